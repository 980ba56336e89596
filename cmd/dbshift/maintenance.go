package main

import (
	"fmt"

	"github.com/dbshift/dbshift/internal/maintenance"
)

// MaintenanceCmd groups the maintenance-window helpers.
type MaintenanceCmd struct {
	NginxSnippet MaintenanceNginxSnippetCmd `cmd:"" name:"nginx-snippet" help:"Print an nginx snippet that answers 503 with a maintenance page unless a bypass header or cookie is present."`
}

type MaintenanceNginxSnippetCmd struct {
	BypassHeader string `name:"bypass-header" default:"X-Dbshift-Bypass" help:"Request header that lets staff through."`
	BypassCookie string `name:"bypass-cookie" default:"dbshift_bypass" help:"Cookie that lets staff through."`
	BypassToken  string `name:"bypass-token" help:"Value the header or cookie must carry (default: any value other than empty or 0)."`
	Page         string `name:"page" type:"existingfile" help:"HTML file served with the 503 (default: a built-in page)."`
	RetryAfter   int    `name:"retry-after" default:"300" help:"Retry-After header in seconds (0: none)."`
}

func (c *MaintenanceNginxSnippetCmd) Run(app *App) error {
	s, err := maintenance.NginxSnippet(maintenance.SnippetOptions{
		BypassHeader: c.BypassHeader, BypassCookie: c.BypassCookie, Token: c.BypassToken,
		Page: c.Page, RetryAfter: c.RetryAfter,
	})
	if err != nil {
		return usage("%v", err)
	}
	_, err = fmt.Fprint(app.Stdout, s)
	return err
}
