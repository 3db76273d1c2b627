// Command school is the School Service web app.
//
//	school serve    run the web app (the default)
//	school migrate  bring the MySQL schema up to date
//	school seed     build a demo dataset in MySQL and the directory
//	school rehearse play a registration morning against the app, then check the database
//	school bench    measure the registration rush, registration and sign-in against their ceilings
//	school verify-shuffle  check a waiting room's published pre-queue shuffle, every place
//	school basket-auto  enrol the baskets whose sections have room, when the basket phase closes
//
// Every flag can also be set from the environment: -db-dsn is SCHOOL_DB_DSN, and so on.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		cmd, args = "help", nil
	} else if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, getenv, stderr)
	case "migrate":
		err = migrate(ctx, args, getenv, stdout, stderr)
	case "seed":
		err = seedCmd(ctx, args, getenv, stdout, stderr)
	case "rehearse":
		err = rehearse(ctx, args, getenv, stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args, getenv, stdout, stderr)
	case "verify-shuffle":
		err = verifyShuffle(ctx, args, getenv, stdout, stderr)
	case "hybrid":
		err = hybridCmd(ctx, args, getenv, stdout, stderr)
	case "basket-auto":
		err = basketAutoCmd(ctx, args, getenv, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, "usage: school [serve|migrate|seed|rehearse|bench|verify-shuffle|hybrid|basket-auto] [flags]; school CMD -h lists the flags")
		return 0
	default:
		fmt.Fprintf(stderr, "school: unknown command %q (want serve, migrate, seed, rehearse, bench, verify-shuffle, hybrid or basket-auto)\n", cmd)
		return 2
	}
	if err == errUsage {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "school %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
