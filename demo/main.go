// Command demo runs runbook 1 end to end on a local sandbox with the real
// dbshift binary: a source with sample data, a canary probe writing through
// HAProxy the whole time, `dbshift plan`, `dbshift run` (temporary replica,
// snapshot, encrypted copy, restore, replicate from the recorded position),
// `dbshift cutover` under load, and a report: phases, write-unavailable ms,
// client-visible ms, lost writes, tablespaces encrypted.
//
//	make demo            (or: go run ./demo -dbshift bin/dbshift)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/cutover"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/journal"
	"github.com/dbshift/dbshift/internal/probe"
	"github.com/dbshift/dbshift/internal/sandbox"
	"github.com/dbshift/dbshift/internal/strategy"
	"github.com/dbshift/dbshift/internal/switcher"
	"github.com/dbshift/dbshift/internal/switcher/haproxy"
)

func main() {
	dir := flag.String("dir", ".demo", "working directory (emptied first)")
	bin := flag.String("dbshift", "bin/dbshift", "the dbshift binary")
	rate := flag.Int("rate", 200, "probe writes per second through HAProxy")
	keep := flag.Bool("keep", false, "leave the servers running at the end")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, *bin, *rate, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo failed: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, bin string, rate int, keep bool) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if old, err := sandbox.Load(filepath.Join(dir, "instances")); err == nil {
		old.Down(ctx, false)
	}
	if old, err := sandbox.Load(filepath.Join(dir, "source")); err == nil {
		old.Down(ctx, false)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)

	title("1. A source: a sandbox MariaDB with sample data")
	if err := dbshift(ctx, bin, "sandbox", "up", "--dir", filepath.Join(dir, "source"), "--instances", "1"); err != nil {
		return err
	}
	sb, err := sandbox.Load(filepath.Join(dir, "source"))
	if err != nil {
		return err
	}
	src := sb.Instances[0]
	if !keep {
		defer func() {
			title("Tearing down (go run ./demo -keep leaves the servers up)")
			if s, err := sandbox.Load(filepath.Join(dir, "instances")); err == nil {
				s.Down(context.Background(), false)
			}
			sb.Down(context.Background(), false)
		}()
	}
	admin, err := dbconn.Open(ctx, dbconn.Spec{Role: "source", DSN: src.DSN(), Password: src.Password}, nil)
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, q := range []string{
		"CREATE DATABASE shop",
		"CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100), email VARCHAR(200), created_at DATETIME DEFAULT NOW())",
		"CREATE TABLE shop.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2), status ENUM('new','paid','shipped'), note VARCHAR(255), KEY (customer_id))",
		"INSERT INTO shop.customers (id, name, email) SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.com') FROM shop.seq_1_to_10000",
		"INSERT INTO shop.orders (customer_id, total, status, note) SELECT seq % 10000 + 1, (seq % 997) / 7, ELT(seq % 3 + 1, 'new', 'paid', 'shipped'), REPEAT('n', seq % 200) FROM shop.seq_1_to_100000",
		"CREATE USER 'app'@'%' IDENTIFIED BY 'demo-app-password'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'%'",
		"GRANT ALL ON _dbshift_probe.* TO 'app'@'%'",
	} {
		if _, err := admin.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("loading sample data: %w", err)
		}
	}
	fmt.Println("shop.customers: 10,000 rows; shop.orders: 100,000 rows; application account 'app' (no SUPER)")

	title(fmt.Sprintf("2. HAProxy in front of the source; a canary probe writes through it at %d/s", rate))
	// The target's server line waits, disabled, for the address the
	// restore will give it.
	proxy, err := haproxy.StartLocal(ctx, filepath.Join(dir, "haproxy"), 0, []switcher.Endpoint{{Name: "source", Addr: src.Addr()}, {Name: "target", Addr: "127.0.0.1:9"}})
	if err != nil {
		return err
	}
	defer proxy.Stop()
	fmt.Printf("haproxy: app endpoint %s, admin socket %s\n", proxy.Addr(), proxy.Socket())
	app, err := dbconn.Open(ctx, dbconn.Spec{Role: "app", DSN: "app@tcp(" + proxy.Addr() + ")/", Password: "demo-app-password", TLS: "off", KeepSessionDefaults: true}, nil)
	if err != nil {
		return err
	}
	defer app.Close()
	pr, err := probe.Start(ctx, app.DB, probe.Options{Rate: rate})
	if err != nil {
		return err
	}
	stopped := false
	defer func() {
		if !stopped {
			pr.Stop()
		}
	}()

	title("3. The plan (dbshift plan)")
	specPath := filepath.Join(dir, "spec.yaml")
	spec := fmt.Sprintf(`name: demo
provider: local
strategy: replica-snapshot
source:
  dsn: "%s"
  password_file: %s
target:
  id: shop-encrypted
  encrypted: true
replication:
  max_lag: 500ms
cutover:
  mode: manual
  reverse: true
  switch: {kind: haproxy, socket: %s, backend: %s}
local:
  sandbox_dir: %s
`, src.DSN(), src.PasswordFile(), proxy.Socket(), haproxy.Backend, filepath.Join(dir, "instances"))
	if err := os.WriteFile(specPath, []byte(spec), 0o600); err != nil {
		return err
	}
	fmt.Print(spec)
	if err := dbshift(ctx, bin, "plan", "-f", specPath); err != nil {
		return err
	}

	title("4. Clone into an encrypted target and replicate (dbshift run)")
	state := filepath.Join(dir, "state")
	start := time.Now()
	if err := dbshift(ctx, bin, "run", "-f", specPath, "--state", state, "--yes"); err != nil {
		return err
	}
	fmt.Printf("run took %s while the probe kept writing\n", time.Since(start).Round(100*time.Millisecond))
	if err := dbshift(ctx, bin, "status", "--state", state); err != nil {
		return err
	}
	j, err := journal.Open(filepath.Join(state, "run.journal"))
	if err != nil {
		return err
	}
	targetAddr, _ := j.Value(strategy.StepRestore, "addr")
	j.Close()
	sw := haproxy.New(proxy.Socket(), haproxy.Backend)
	if err := sw.SetAddr(ctx, "target", targetAddr); err != nil {
		return err
	}
	fmt.Printf("haproxy: server 'target' now points at %s (still disabled)\n", targetAddr)

	title("5. Cut over under load (dbshift cutover --state)")
	report := filepath.Join(dir, "cutover-report.json")
	if err := dbshift(ctx, bin, "cutover", "--state", state, "--yes", "--report", report); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // two more seconds of probe writes on the new primary
	res := pr.Stop()
	stopped = true

	title("6. Proof")
	tgt, err := dbconn.Open(ctx, dbconn.Spec{Role: "target", DSN: "dbshift@tcp(" + targetAddr + ")/", Password: src.Password}, nil)
	if err != nil {
		return err
	}
	defer tgt.Close()
	vr, err := probe.Verify(ctx, tgt.DB, res)
	if err != nil {
		return err
	}
	var rep cutover.Report
	b, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return err
	}
	var total, encrypted int
	if err := tgt.DB.QueryRowContext(ctx, "SELECT COUNT(*), SUM(ENCRYPTION_SCHEME = 1 AND ROTATING_OR_FLUSHING = 0) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION").Scan(&total, &encrypted); err != nil {
		return err
	}
	var orders int
	tgt.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM shop.orders").Scan(&orders)
	var phases []string
	for _, p := range rep.Phases {
		phases = append(phases, fmt.Sprintf("%s %.1f ms", p.Name, p.MS))
	}
	fmt.Printf("cutover outcome:      %s\n", rep.Outcome)
	fmt.Printf("phases:               %s\n", strings.Join(phases, ", "))
	if rep.WriteUnavailableMS != nil && rep.ClientVisibleMS != nil {
		fmt.Printf("write-unavailable:    %.1f ms (fence observed -> target writable)\n", *rep.WriteUnavailableMS)
		fmt.Printf("client-visible:       %.1f ms (fence -> switch done)\n", *rep.ClientVisibleMS)
	}
	fmt.Printf("source final:         %s\n", rep.SourceFinal)
	fmt.Printf("probe:                %d writes acknowledged at %.0f/s, longest gap %.1f ms\n", vr.Acked, vr.AchievedRate, vr.LongestGapMs)
	fmt.Printf("lost writes:          %d\n", len(vr.Lost))
	fmt.Printf("duplicates:           %d\n", vr.ServerDuplicates())
	fmt.Printf("tablespaces encrypted: %d/%d on the new primary (shop.orders: %d rows)\n", encrypted, total, orders)
	fmt.Printf("reverse replication:  the old source replicates from the new primary (dbshift rollback --state ... would move back)\n")
	if len(vr.Lost) > 0 || vr.ServerDuplicates() > 0 || total == 0 || encrypted != total || rep.Outcome != "completed" {
		return fmt.Errorf("the demo's checks failed")
	}
	return nil
}

func title(s string) { fmt.Printf("\n\033[1m== %s\033[0m\n", s) }

// dbshift runs the binary as a user would, printing the command line.
func dbshift(ctx context.Context, bin string, args ...string) error {
	fmt.Printf("$ dbshift %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("dbshift %s: %w", args[0], err)
	}
	return nil
}
