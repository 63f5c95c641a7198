// Command beaconctl administers a Beacon installation from the command line:
// accounts, roles, channels, stream keys and API clients, and the tools other
// areas add to its command table.
//
// Usage: beaconctl <command> [flags]; beaconctl help lists the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run parses its own flags from args.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the subcommand table: add one line per command.
func commands() []command {
	return []command{
		{"create-user", "create a user account (prints a generated password if none is given)", cmdCreateUser},
		{"grant-role", "grant (or with -revoke, revoke) a role: viewer, streamer, moderator, admin", cmdGrantRole},
		{"create-channel", "create a streamer's channel and print its stream key (shown once)", cmdCreateChannel},
		{"rotate-key", "revoke a channel's stream key and print a new one (shown once)", cmdRotateKey},
		{"create-client", "create an OAuth2 API client and print its id and secret (shown once)", cmdCreateClient},
		{"reindex", "rebuild the search index from the store, keeping live state (bleve: server stopped; Elasticsearch: online, atomic swap)", cmdReindex},
		{"bench", "whole-system benchmarks: bench lists them, bench <name>|all runs them", cmdBench},
	}
}

// errUsage marks a usage error (exit status 2); errHelp a -h (status 0).
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "beaconctl:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			if errors.Is(err, errHelp) {
				return nil
			}
			return err
		}
	}
	fmt.Fprintf(stderr, "beaconctl: unknown command %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: beaconctl <command> [flags]   (beaconctl <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
}
