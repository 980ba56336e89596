package main

import (
	"strings"
	"testing"
)

func TestMaintenanceNginxSnippet_PrintsOrRefuses(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "maintenance", "nginx-snippet", "--bypass-header", "X-Staff", "--bypass-token", "s3cret")
	if code != 0 || !strings.Contains(stdout, `if ($http_x_staff = "s3cret")`) || !strings.Contains(stdout, "return 503") {
		t.Errorf("exit %d, stderr %q, snippet:\n%s", code, stderr, stdout)
	}
	code, stdout, stderr = runCLI(t, nil, "maintenance", "nginx-snippet", "--bypass-cookie", "staff-pass")
	if code != 2 || stdout != "" || !strings.Contains(stderr, `bypass cookie "staff-pass"`) {
		t.Errorf("bad cookie name: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
