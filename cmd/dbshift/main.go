// Command dbshift moves a MySQL-family database to a new instance with
// seconds of downtime, zero lost writes, proof beforehand and a way back.
//
// This file only wires flags to package functions; every command lives in a
// file of its own next to it and calls into internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// CLI is the whole command tree. Each command group is a struct defined in its
// own file; its Run method receives the *App.
type CLI struct {
	LogLevel string `name:"log-level" enum:"debug,info,warn,error" default:"info" help:"Diagnostics on stderr at this level (${enum})."`

	Preflight PreflightCmd `cmd:"" help:"Check a source (and target) before any migration work."`
	Position  PositionCmd  `cmd:"" help:"Print (with --stop: stop and print) the source coordinates a replica has executed."`
	Replicate ReplicateCmd `cmd:"" help:"Replication primitives: start from exact coordinates, status, wait, stop, reset."`
	Sandbox   SandboxCmd   `cmd:"" help:"Local sandbox of real mariadbd instances."`
	Version   VersionCmd   `cmd:"" help:"Print the version."`
}

// App is what every command's Run receives: the context (cancelled on
// SIGINT/SIGTERM), the output streams and the logger. No globals.
type App struct {
	Ctx    context.Context
	Stdout io.Writer
	Stderr io.Writer
	Stdin  *os.File
	Log    *slog.Logger
}

// ExitError carries the process exit code: 1 when a check or a wait failed,
// 2 for bad usage or a server that could not be reached.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// failed returns an error that makes dbshift exit 1.
func failed(format string, args ...any) error {
	return &ExitError{Code: 1, Err: fmt.Errorf(format, args...)}
}

// usage returns an error that makes dbshift exit 2.
func usage(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

const version = "0.1.0-dev"

type VersionCmd struct{}

func (VersionCmd) Run(app *App) error {
	_, err := fmt.Fprintln(app.Stdout, "dbshift", version)
	return err
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) int {
	var cli CLI
	exitCode := -1
	parser, err := kong.New(&cli,
		kong.Name("dbshift"),
		kong.Description("Move a MySQL-family database to a new instance with seconds of downtime, zero lost writes, proof beforehand and a way back."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exitCode = code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(stderr, "dbshift: %v\n", err)
		return 2
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 { // --help
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "dbshift: %v\n", err)
		return 2
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cli.LogLevel))
	app := &App{
		Ctx:    ctx,
		Stdout: stdout,
		Stderr: stderr,
		Stdin:  stdin,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if err := kctx.Run(app); err != nil {
		fmt.Fprintf(stderr, "dbshift: %v\n", err)
		var ee *ExitError
		if errors.As(err, &ee) {
			return ee.Code
		}
		return exitCodeFor(err)
	}
	return 0
}
