package execswitch_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/execswitch"
)

var (
	from = switcher.Endpoint{Name: "db1", Addr: "127.0.0.1:3307"}
	to   = switcher.Endpoint{Name: "db2", Addr: "127.0.0.1:3308"}
)

func TestSwitch_AllowListEnvironment(t *testing.T) {
	t.Setenv("DBSHIFT_SOURCE_PASSWORD", "s3cret-source")
	t.Setenv("DBSHIFT_PROBE_PASSWORD", "s3cret-probe")
	t.Setenv("MYSQL_PWD", "s3cret-mysql")
	t.Setenv("ORDERS_PW", "s3cret-orders") // a spec's password_env
	t.Setenv("UNRELATED", "dropped")
	t.Setenv("LB_TOKEN", "listed")
	sw := execswitch.Shell(`env | sort`, 10*time.Second).PassEnv([]string{"LB_TOKEN"})
	if err := sw.Switch(context.Background(), from, to); err != nil {
		t.Fatal(err)
	}
	runs := sw.Runs()
	if len(runs) != 1 {
		t.Fatalf("runs = %d", len(runs))
	}
	out := runs[0].Output
	for _, want := range []string{"PATH=" + os.Getenv("PATH") + "\n", "DBSHIFT_PHASE=switch\n", "DBSHIFT_FROM_ADDR=127.0.0.1:3307\n", "DBSHIFT_TO_ADDR=127.0.0.1:3308\n", "DBSHIFT_TO_NAME=db2\n", "LB_TOKEN=listed\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("environment lacks %q:\n%s", want, out)
		}
	}
	for _, never := range []string{"s3cret", "_PASSWORD", "MYSQL_PWD", "ORDERS_PW", "UNRELATED"} {
		if strings.Contains(out, never) {
			t.Errorf("%s reached the command:\n%s", never, out)
		}
	}
	if runs[0].ExitCode != 0 || runs[0].Err != "" {
		t.Errorf("run = %+v", runs[0])
	}
}

func TestSwitch_Failures(t *testing.T) {
	cases := []struct {
		name     string
		sw       *execswitch.Switcher
		wantErr  string
		wantCode int
		timedOut bool
	}{
		{"exit status", execswitch.Shell(`echo "lb api said no" >&2; exit 3`, 10*time.Second), "exit status 3", 3, false},
		{"timeout kills the whole group", execswitch.Shell(`sleep 30 & sleep 30; wait`, 300*time.Millisecond), "timed out", -1, true},
		{"argv without shell", execswitch.New([]string{"false"}, 10*time.Second), "exit status 1", 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.sw.Switch(context.Background(), from, to)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Switch = %v, want %q", err, c.wantErr)
			}
			r := c.sw.Runs()[0]
			if r.ExitCode != c.wantCode || r.TimedOut != c.timedOut {
				t.Errorf("run = exit %d timed out %v, want %d %v", r.ExitCode, r.TimedOut, c.wantCode, c.timedOut)
			}
			// A background child kept alive past the timeout would hold the
			// output pipe and make Run wait for it: the run must end near the
			// timeout, not after the 30 s sleeps.
			if r.Duration > 10*time.Second {
				t.Errorf("run took %s", r.Duration)
			}
		})
	}
	sw := execswitch.Shell(`echo "lb api said no" >&2; exit 3`, 10*time.Second)
	_ = sw.Switch(context.Background(), from, to)
	if out := sw.Runs()[0].Output; out != "lb api said no\n" {
		t.Errorf("captured output = %q", out)
	}
}

func TestExec_OutputCapped(t *testing.T) {
	sw := execswitch.Shell(`head -c 200000 /dev/zero | tr '\0' x`, 10*time.Second)
	r := sw.Exec(context.Background(), "after-switch", from, to)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if !r.Truncated || len(r.Output) != 64<<10 {
		t.Errorf("output %d bytes, truncated %v", len(r.Output), r.Truncated)
	}
	if r.Phase != "after-switch" {
		t.Errorf("phase = %q", r.Phase)
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		sw      *execswitch.Switcher
		wantErr string
	}{
		{"ok", execswitch.New([]string{"true"}, time.Second), ""},
		{"missing program", execswitch.New([]string{"/nonexistent/switch-traffic"}, time.Second), "no such file"},
		{"empty", execswitch.New(nil, time.Second), "no command"},
		{"no timeout", execswitch.New([]string{"true"}, 0), "timeout"},
		{"shell syntax error", execswitch.Shell(`if then fi (`, time.Second), "does not parse"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.sw.Check(context.Background(), from, to)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Check = %v, want %q", err, c.wantErr)
			}
			// Check never runs the command.
			if n := len(c.sw.Runs()); n != 0 {
				t.Errorf("Check ran the command %d times", n)
			}
		})
	}
}
