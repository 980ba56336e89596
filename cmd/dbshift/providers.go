package main

import (
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/spec"
)

// newProvider builds the control plane a spec names.
func newProvider(app *App, s *spec.Spec, runID string) (provider.Provider, error) {
	return nil, usage("provider %s is not available in this build", s.Provider)
}
