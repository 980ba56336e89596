package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/awsfake"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/sandbox/sandboxtest"
)

// rdsPoolEnv is a fake RDS instance "prod" backed by a sandbox mariadbd in
// RDS mode, using custom parameter group "bp" whose innodb_buffer_pool_size
// reaches the server (SET GLOBAL as root) when RDS reports it in-sync. The
// fake's clock runs ~1000x faster than the wall clock.
func rdsPoolEnv(t *testing.T) (*awsfake.Server, *sandbox.Instance, map[string]string) {
	t.Helper()
	inst := sandboxtest.New(t, sandbox.Options{Instances: 1, RDS: true, Extra: []string{"innodb_buffer_pool_size=256M"}}).Instances[0]
	ctx := context.Background()
	root, err := inst.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })

	f := awsfake.New(awsfake.Options{})
	t.Cleanup(f.Close)
	f.AddParameterGroup("bp", "mariadb10.11", map[string]string{"innodb_buffer_pool_size": "268435456"})
	f.AddInstance(awsfake.InstanceSpec{ID: "prod", ParameterGroup: "bp", Host: "127.0.0.1", Port: inst.Port})
	f.SetParameterApplyFunc(func(id string, params map[string]string) {
		v, ok := params["innodb_buffer_pool_size"]
		if !ok || id != "prod" {
			return
		}
		if _, err := root.ExecContext(ctx, "SET GLOBAL innodb_buffer_pool_size = "+v); err != nil {
			t.Errorf("applying innodb_buffer_pool_size=%s on the server behind %s: %v", v, id, err)
		}
	})
	runFakeClock(t, f)

	cfg := t.TempDir()
	return f, inst, map[string]string{"DBSHIFT_SERVER_PASSWORD": inst.Password,
		"AWS_ACCESS_KEY_ID": "AKIDFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": filepath.Join(cfg, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(cfg, "credentials"), "AWS_PROFILE": ""}
}

func serverPoolSize(t *testing.T, inst *sandbox.Instance) uint64 {
	t.Helper()
	root, err := inst.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var n uint64
	if err := root.QueryRow("SELECT @@GLOBAL.innodb_buffer_pool_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// One RDS-mode resize of two steps goes through the parameter group and
// ends with the per-step table, naming the other instance the group
// reaches; then a reboot pending on the instance stops
// the next run before it changes anything, saying so.
func TestBufferpoolResize_RDSParameterGroupSteps(t *testing.T) {
	f, inst, env := rdsPoolEnv(t)
	rdsArgs := []string{"bufferpool", "resize", "--dsn", inst.DSN(), "--rds-instance", "prod", "--rds-parameter-group", "bp",
		"--aws-endpoint", f.URL(), "--aws-poll-interval", "20ms", "--pause", "300ms", "--resize-timeout", "20s", "--yes"}

	// A replica sharing the group changes too: dbshift says so.
	f.AddInstance(awsfake.InstanceSpec{ID: "replica", ParameterGroup: "bp"})

	code, stdout, stderr := runCLI(t, env, append(rdsArgs, "--to", "512M", "--step", "128M")...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"RDS instance prod", "256M -> 384M", "384M -> 512M", "completed: innodb_buffer_pool_size is 512M after 2 steps"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "parameter group bp is also used by replica") {
		t.Errorf("the replica sharing the group is not named:\n%s", stderr)
	}
	if !strings.Contains(stderr, "parameter group bp on prod: in-sync") {
		t.Errorf("no in-sync progress on stderr:\n%s", stderr)
	}
	if n := f.CallCount("ModifyDBParameterGroup"); n != 2 {
		t.Errorf("%d ModifyDBParameterGroup calls, want one per step (2)", n)
	}
	if v, _ := f.ParameterValue("bp", "innodb_buffer_pool_size"); v != "536870912" {
		t.Errorf("parameter group holds %q, want 536870912", v)
	}
	if n := serverPoolSize(t, inst); n != 512<<20 {
		t.Errorf("server's innodb_buffer_pool_size is %d, want 512M", n)
	}
	for _, c := range f.Calls() {
		if c.Action == "ModifyDBParameterGroup" && c.Params.Get("Parameters.Parameter.1.ApplyMethod") != "immediate" {
			t.Errorf("ModifyDBParameterGroup without ApplyMethod=immediate: %v", c.Params)
		}
	}

	// Groups RDS or the instance would not take: refused before any change.
	for _, tc := range []struct{ group, want string }{
		{"default.mariadb10.11", "is a default parameter group"},
		{"other", "prod uses parameter group bp, not --rds-parameter-group other"},
	} {
		args := slices.Clone(rdsArgs)
		args[slices.Index(args, "bp")] = tc.group
		code, _, stderr := runCLI(t, env, append(args, "--to", "256M")...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--rds-parameter-group %s: exit %d, want 2 with %q: %s", tc.group, code, tc.want, stderr)
		}
	}
	if n := f.CallCount("ModifyDBParameterGroup"); n != 2 {
		t.Errorf("%d ModifyDBParameterGroup calls after refused runs, want 2", n)
	}

	// A static change someone left waiting for a reboot.
	api, err := awsprov.New(context.Background(), awsprov.Config{Endpoint: f.URL(), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.ModifyParameters(context.Background(), "bp", []awsprov.Param{{Name: "max_connections", Value: "500"}}); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, env, append(rdsArgs, "--to", "256M", "--step", "128M")...)
	if code != 1 || !strings.Contains(stderr, "waiting for a reboot") || !strings.Contains(stderr, "dbshift will not") {
		t.Errorf("exit %d, want 1 with the reboot named: %s", code, stderr)
	}
	if n := f.CallCount("ModifyDBParameterGroup"); n != 3 {
		t.Errorf("%d ModifyDBParameterGroup calls, want none by the refused run", n-2)
	}
	if n := serverPoolSize(t, inst); n != 512<<20 {
		t.Errorf("the refused run changed the pool to %d", n)
	}

	// The step itself answered pending-reboot (the reboot became pending
	// between the check and the step): the step stops with the reason.
	db, err := inst.Root(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rp := &rdsBufferPool{api: api, db: db, instance: "prod", group: "bp", timeout: time.Minute, progress: func(string) {}}
	err = rp.set(context.Background(), 384<<20)
	if !errors.Is(err, errPendingReboot) || !strings.Contains(err.Error(), "only when prod reboots") {
		t.Errorf("step on a pending-reboot instance: %v", err)
	}
}

// runFakeClock runs the fake's clock about 1000x faster than the wall
// clock until the test ends.
func runFakeClock(t *testing.T, f *awsfake.Server) {
	t.Helper()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				f.Advance(5 * time.Second)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}
