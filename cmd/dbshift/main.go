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
	"github.com/go-sql-driver/mysql"
)

// CLI is the whole command tree. Each command group is a struct defined in its
// own file; its Run method receives the *App.
type CLI struct {
	LogLevel string `name:"log-level" enum:"debug,info,warn,error" default:"info" help:"Diagnostics on stderr at this level (${enum})."`
	TLS      string `name:"tls" enum:"disabled,preferred,required,verify-ca,verify-identity,off" default:"preferred" help:"TLS to every server dbshift connects to, and for the replication it sets up (${enum}; off = disabled). preferred falls back to plaintext with a warning; required does not verify the certificate; verify-ca checks it against --tls-ca; verify-identity also checks the host name."`
	TLSCA    string `name:"tls-ca" type:"existingfile" placeholder:"FILE" help:"PEM file of the CA(s) verify-ca/verify-identity trust (default: the system pool); on RDS, the RDS CA bundle (global-bundle.pem)."`

	Preflight    PreflightCmd    `cmd:"" help:"Check a source (and target) before any migration work."`
	Position     PositionCmd     `cmd:"" help:"Print (with --stop: stop and print) the source coordinates a replica has executed."`
	Replicate    ReplicateCmd    `cmd:"" help:"Replication primitives: start from exact coordinates, status, wait, stop, reset."`
	Plan         PlanCmd         `cmd:"" help:"Print every step of a migration spec in order (text, json, mermaid); changes nothing."`
	Run          RunCmd          `cmd:"" help:"Run a migration spec; stops before cutover unless the spec says cutover: auto."`
	Status       StatusCmd       `cmd:"" help:"Where a run is: each step's state and time."`
	Resume       ResumeCmd       `cmd:"" help:"Continue a run after a crash, a reboot or Ctrl-C."`
	Abort        AbortCmd        `cmd:"" help:"Undo a run: remove what it created; the source is not touched."`
	Cutover      CutoverCmd      `cmd:"" help:"Zero-loss cutover: fence, drain, catch up exactly, promote, switch, fence old, reverse."`
	Rollback     RollbackCmd     `cmd:"" help:"Move writes back to the original source (same flags as the cutover)."`
	Sandbox      SandboxCmd      `cmd:"" help:"Local sandbox of real mariadbd instances."`
	Version      VersionCmd      `cmd:"" help:"Print the version."`
	Querylog     QuerylogCmd     `cmd:"" help:"Read general and slow query logs."`
	Replay       ReplayCmd       `cmd:"" help:"Replay logged queries: load test at several concurrencies, or --compare two servers."`
	CheckUpgrade CheckUpgradeCmd `cmd:"" name:"check-upgrade" help:"Check a source for what breaks on MySQL 8.0/8.4: schema, accounts, variables and logged queries."`
	Bufferpool   BufferpoolCmd   `cmd:"" help:"Resize the InnoDB buffer pool gently."`
	Maintenance  MaintenanceCmd  `cmd:"" help:"Helpers for the read-only maintenance window."`
	Probe        ProbeCmd        `cmd:"" help:"Canary writer: write sequenced rows through the app endpoint, then prove none was lost."`
}

// App is what every command's Run receives: the context (cancelled on
// SIGINT/SIGTERM), the output streams and the logger. No globals.
type App struct {
	Ctx    context.Context
	Stdout io.Writer
	Stderr io.Writer
	Stdin  *os.File
	Log    *slog.Logger
	// TLS and TLSCA are the global --tls and --tls-ca: app.open applies
	// them to every connection that does not set its own.
	TLS   string
	TLSCA string
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
	// The driver logs lost connections on its own; route them to debug so a
	// killed session during a fence does not look like a failure.
	_ = mysql.SetLogger(driverLogger{log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))})
	app := &App{
		Ctx:    ctx,
		Stdout: stdout,
		Stderr: stderr,
		Stdin:  stdin,
		Log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		TLS:    cli.TLS,
		TLSCA:  cli.TLSCA,
	}
	if err := kctx.Run(app); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintf(stderr, "dbshift: %v\n", err)
		}
		var ee *ExitError
		if errors.As(err, &ee) {
			return ee.Code
		}
		return exitCodeFor(err)
	}
	return 0
}

// driverLogger adapts go-sql-driver/mysql's logger to slog at debug level.
type driverLogger struct {
	log *slog.Logger
}

func (d driverLogger) Print(v ...any) { d.log.Debug("mysql driver", "msg", fmt.Sprint(v...)) }
