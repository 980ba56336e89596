package main

import (
	"errors"
	"slices"
	"testing"
)

func TestHooksWithEnv(t *testing.T) {
	hooks, err := hooksWithEnv([]string{"before-fence=true", "after-switch=env"}, []string{"APP_TOKEN"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks {
		if !slices.Equal(h.Env, []string{"APP_TOKEN"}) {
			t.Errorf("hook %s env = %v", h.Phase, h.Env)
		}
	}
	for _, bad := range []string{"MYSQL_PWD", "DBSHIFT_TARGET_PASSWORD", "A B", ""} {
		_, err := hooksWithEnv([]string{"after-switch=env"}, []string{bad})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 2 {
			t.Errorf("--hook-env %q: %v, want a usage error", bad, err)
		}
	}
}
