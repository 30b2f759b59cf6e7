package main

import "context"

// cmdExport streams exports to stdout; it grows with the API issue.
func cmdExport(ctx context.Context, e *env, args []string) error { return usageErr("not yet") }
