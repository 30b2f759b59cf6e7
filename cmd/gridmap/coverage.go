package main

import "context"

// cmdCoverage prints the coverage report; it grows with the API issue.
func cmdCoverage(ctx context.Context, e *env, args []string) error { return usageErr("not yet") }
