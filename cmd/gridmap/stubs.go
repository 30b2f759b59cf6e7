package main

import "context"

// cmdImport is written in import.go (foundation issue).
func cmdImport(ctx context.Context, e *env, args []string) error { return usageErr("not yet") }
