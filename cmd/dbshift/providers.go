package main

import (
	"github.com/dbshift/dbshift/internal/provider"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/provider/local"
	"github.com/dbshift/dbshift/internal/spec"
)

// newProvider builds the control plane a spec names.
func newProvider(app *App, s *spec.Spec, runID string) (provider.Provider, error) {
	switch s.Provider {
	case "local":
		src := provider.Instance{ID: "source", Role: "source", DSN: s.Source.DSN, PasswordFile: s.Source.PasswordFile, PasswordEnv: s.Source.PasswordEnv}
		p, err := local.New(s.Local.SandboxDir, src, app.Log)
		if err != nil {
			return nil, usage("local provider: %v", err)
		}
		p.TLS, p.TLSCA = app.TLS, app.TLSCA
		return p, nil
	case "aws":
		p, err := awsprov.NewFromSpec(app.Ctx, s, app.Log)
		if err != nil {
			return nil, usage("aws provider: %v", err)
		}
		return p, nil
	}
	return nil, usage("provider %s is not available in this build", s.Provider)
}
