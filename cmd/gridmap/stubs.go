package main

import "context"

func cmdImport(ctx context.Context, e *env, args []string) error   { return usageErr("not yet") }
func cmdExport(ctx context.Context, e *env, args []string) error   { return usageErr("not yet") }
func cmdCoverage(ctx context.Context, e *env, args []string) error { return usageErr("not yet") }
