package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// Connection flags per role. Passwords come from DBSHIFT_<ROLE>_PASSWORD,
// --<role>-password-file, or the DSN (warned about); never from a flag value.
type SourceFlags struct {
	Source             string `name:"source" required:"" placeholder:"DSN" help:"Source server: user@tcp(host:port)/ or mysql://user@host:port/ (password from DBSHIFT_SOURCE_PASSWORD or --source-password-file)."`
	SourcePasswordFile string `name:"source-password-file" type:"path" placeholder:"FILE" help:"File holding the source password."`
}

func (f SourceFlags) spec() dbconn.Spec {
	return dbconn.Spec{Role: "source", DSN: f.Source, PasswordFile: f.SourcePasswordFile}
}

type TargetFlags struct {
	Target             string `name:"target" required:"" placeholder:"DSN" help:"Target server DSN (password from DBSHIFT_TARGET_PASSWORD or --target-password-file)."`
	TargetPasswordFile string `name:"target-password-file" type:"path" placeholder:"FILE" help:"File holding the target password."`
}

func (f TargetFlags) spec() dbconn.Spec {
	return dbconn.Spec{Role: "target", DSN: f.Target, PasswordFile: f.TargetPasswordFile}
}

// OptionalSourceFlags is SourceFlags where the source is optional.
type OptionalSourceFlags struct {
	Source             string `name:"source" placeholder:"DSN" help:"Source server DSN, for lag in bytes and by heartbeat (password from DBSHIFT_SOURCE_PASSWORD or --source-password-file)."`
	SourcePasswordFile string `name:"source-password-file" type:"path" placeholder:"FILE" help:"File holding the source password."`
}

func (f OptionalSourceFlags) spec() dbconn.Spec {
	return dbconn.Spec{Role: "source", DSN: f.Source, PasswordFile: f.SourcePasswordFile}
}

// FormatFlag is --format text|json.
type FormatFlag struct {
	Format string `name:"format" enum:"text,json" default:"text" help:"Output format (${enum})."`
}

// open connects with the global TLS flags unless spec has its own; a
// failure is exit code 2 with the server named.
func (app *App) open(spec dbconn.Spec) (*dbconn.Conn, error) {
	c, err := dbconn.Open(app.Ctx, app.withTLS(spec), app.Log)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return c, nil
}

// withTLS fills in the global --tls and --tls-ca where spec has none.
func (app *App) withTLS(spec dbconn.Spec) dbconn.Spec {
	return spec.WithTLS(app.TLS, app.TLSCA)
}

// openPair connects to a source and a target; close closes both.
func (app *App) openPair(srcSpec, tgtSpec dbconn.Spec) (src, tgt *dbconn.Conn, close func(), err error) {
	if src, err = app.open(srcSpec); err != nil {
		return nil, nil, nil, err
	}
	if tgt, err = app.open(tgtSpec); err != nil {
		src.Close()
		return nil, nil, nil, err
	}
	return src, tgt, func() { tgt.Close(); src.Close() }, nil
}

// printJSON writes v indented.
func (app *App) printJSON(v any) error {
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// isTerminal reports whether stdin is a terminal someone can answer on.
func (app *App) isTerminal() bool {
	return app.Stdin != nil && term.IsTerminal(int(app.Stdin.Fd()))
}

// confirm shows what a destructive step is about to touch and asks. With
// --yes it proceeds; without a terminal it refuses rather than wait.
func (app *App) confirm(yes bool, actions []string) error {
	if yes {
		return nil
	}
	fmt.Fprintln(app.Stderr, "dbshift is about to:")
	for _, a := range actions {
		fmt.Fprintln(app.Stderr, "  -", a)
	}
	if !app.isTerminal() {
		return usage("refusing to change servers without confirmation: no terminal to ask on; re-run with --yes")
	}
	fmt.Fprint(app.Stderr, "Proceed? [y/N] ")
	line, err := bufio.NewReader(app.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return usage("reading the confirmation: %v", err)
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return usage("not confirmed; nothing was changed")
	}
	return nil
}
