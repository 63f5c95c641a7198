package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// wholeBench is one whole-system benchmark of `beaconctl bench`. run parses
// its own flags from args; with no args it runs its defaults (that is what
// `bench all` does). It prints a table for people and lines in the Go
// benchmark format (Benchmark<Name>/<figure> 1 <value> <unit>).
type wholeBench struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// wholeBenches is the table of whole-system benchmarks: add one line per
// benchmark.
func wholeBenches() []wholeBench {
	return []wholeBench{
		{"media", "RTMP ingest → HLS: first segment, latency, concurrent passthrough streams, ladder CPU, memory (~3 min)", benchMedia},
	}
}

// cmdBench runs `beaconctl bench <name>|all [flags]`; without arguments it
// lists the benchmarks.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		benchUsage(stdout)
		if len(args) > 0 {
			return errHelp
		}
		return nil
	}
	if args[0] == "all" {
		if len(args) > 1 {
			fmt.Fprintln(stderr, "bench all: takes no flags (run one benchmark to change its settings)")
			return errUsage
		}
		var errs []error
		for _, b := range wholeBenches() {
			fmt.Fprintf(stdout, "== bench %s\n", b.name)
			if err := b.run(ctx, nil, stdout, stderr); err != nil {
				fmt.Fprintf(stderr, "bench %s: %v\n", b.name, err)
				errs = append(errs, fmt.Errorf("bench %s: %w", b.name, err))
			}
		}
		return errors.Join(errs...)
	}
	for _, b := range wholeBenches() {
		if b.name == args[0] {
			return b.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "bench: unknown benchmark %q\n\n", args[0])
	benchUsage(stderr)
	return errUsage
}

func benchUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: beaconctl bench <benchmark>|all [flags]   (beaconctl bench <benchmark> -h for its flags)")
	fmt.Fprintln(w, "\nWhole-system benchmarks:")
	for _, b := range wholeBenches() {
		fmt.Fprintf(w, "  %-10s %s\n", b.name, b.summary)
	}
}
