package main

import (
	"errors"

	"github.com/dbshift/dbshift/internal/dbconn"
)

// exitCodeFor maps an error that did not say its own code: a server that
// could not be reached is 2, anything else that went wrong while working 1.
func exitCodeFor(err error) int {
	var de *dbconn.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &de):
		return 2
	}
	return 1
}
