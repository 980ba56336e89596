package strategy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dbshift/dbshift/internal/compat"
	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/provider"
	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/replay"
	"github.com/dbshift/dbshift/internal/spec"
)

// Step names of strategy blue-green.
const (
	StepCreateBlueGreen = "create-blue-green"
	StepPrepareGreen    = "prepare-green"
	StepUpgradeChecks   = "upgrade-checks"
)

// blueGreen is runbook 2 on RDS Blue/Green, with what its users asked AWS
// for: the proof before the switch (upgrade checks, answers compared on
// blue and green), a switchover that stays read-only until the operator
// opens writes, and a way back.
func blueGreen(s *spec.Spec) []Step {
	return []Step{
		preflightStep(s),
		createBlueGreenStep(s),
		prepareGreenStep(s),
		upgradeChecksStep(s),
		greenInSyncStep(s),
		blueGreenCutoverStep(s),
	}
}

// BlueGreenOf is the run's deployment; it fails when the run has none
// (yet) or the provider has no blue/green deployments.
func BlueGreenOf(ctx context.Context, e *Env) (provider.BlueGreen, provider.BlueGreener, error) {
	bgp, ok := e.Provider.(provider.BlueGreener)
	if !ok {
		return provider.BlueGreen{}, nil, fmt.Errorf("provider %s has no blue/green deployments", e.Provider.Name())
	}
	bg, found, err := bgp.FindBlueGreen(ctx, e.RunID, e.Spec.Target.ID)
	if err != nil {
		return bg, bgp, err
	}
	if !found {
		return bg, bgp, fmt.Errorf("run %s has no blue/green deployment %s", e.RunID, e.Spec.Target.ID)
	}
	return bg, bgp, nil
}

// Green connects to the deployment's green instance, whatever its name.
func (e *Env) Green(ctx context.Context, bg provider.BlueGreen) (*dbconn.Conn, error) {
	return e.Conn(ctx, "green:"+bg.ID, bg.Green.Spec("green"))
}

func createBlueGreenStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepCreateBlueGreen,
				Summary: fmt.Sprintf("create blue/green deployment %s of %s: green at %s with parameter group %s, replicating from blue", s.Target.ID, s.AWS.SourceInstance,
					orDefault(s.Target.EngineVersion, "blue's engine version"), s.AWS.ParameterGroup),
				Touches: []string{"new instance (green) and deployment " + s.Target.ID}, Precondition: "preflight passed", Undoable: true,
				Arrows: []Arrow{{PDBShift, PTarget, "CreateBlueGreenDeployment"}, {PSource, PTarget, "replicate"}},
				Calls: []string{
					fmt.Sprintf("rds:CreateBlueGreenDeployment BlueGreenDeploymentName=%s Source=<ARN of %s> TargetEngineVersion=%s TargetDBParameterGroupName=%s%s Tags=%s",
						s.Target.ID, s.AWS.SourceInstance, orDefault(s.Target.EngineVersion, "(blue's)"), s.AWS.ParameterGroup,
						map[bool]string{true: " TargetDBInstanceClass=" + s.Target.InstanceClass}[s.Target.InstanceClass != ""], tags("blue-green")),
					"rds:DescribeBlueGreenDeployments BlueGreenDeploymentIdentifier=<id> (until AVAILABLE)",
				}}
		},
		done: func(ctx context.Context, e *Env) (bool, error) {
			bg, _, err := BlueGreenOf(ctx, e)
			if err != nil {
				return false, nil
			}
			return bg.Status == "AVAILABLE" || bg.Switched(), nil
		},
		do: func(ctx context.Context, e *Env) error {
			bgp, ok := e.Provider.(provider.BlueGreener)
			if !ok {
				return fmt.Errorf("provider %s has no blue/green deployments", e.Provider.Name())
			}
			bar := e.progress("blue/green deployment", 100)
			bg, err := bgp.CreateBlueGreen(ctx, provider.BlueGreenRequest{RunID: e.RunID, Name: s.Target.ID,
				EngineVersion: s.Target.EngineVersion, ParameterGroup: s.AWS.ParameterGroup, InstanceClass: s.Target.InstanceClass},
				func(p int, st string) { bar.Update(int64(p), st) })
			if err != nil {
				bar.Done("failed")
				return err
			}
			bar.Done("green " + bg.Green.ID + " at " + bg.Green.Addr)
			return e.record(StepCreateBlueGreen, map[string]string{"id": bg.ID, "blue": bg.Blue.ID, "green": bg.Green.ID,
				"blue_version": bg.BlueVersion, "green_version": bg.GreenVersion})
		},
		undo: func(ctx context.Context, e *Env) error {
			bg, bgp, err := BlueGreenOf(ctx, e)
			if bgp == nil {
				return err
			}
			if err != nil {
				return nil // nothing of this run's left
			}
			if bg.Switched() {
				return fmt.Errorf("blue/green deployment %s was switched over: %s is the primary now and %s the old blue; abort removes nothing (roll back with dbshift rollback --state DIR)", bg.ID, bg.Green.ID, bg.Blue.ID)
			}
			return bgp.DeleteBlueGreen(ctx, bg)
		},
	}
}

func prepareGreenStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepPrepareGreen,
				Summary: "check that blue and green each have a custom parameter group of their own; pin read_only=1 in green's (RDS's default {TrueIfReplica} would open green the moment the switchover ends its replication)",
				Touches: []string{"parameter group " + s.AWS.ParameterGroup + ": read_only=1"}, Precondition: "deployment AVAILABLE", Undoable: true,
				Arrows: []Arrow{{PDBShift, PTarget, "pin read_only=1 (parameter group)"}},
				Calls: []string{
					"rds:DescribeDBInstances (blue's and green's parameter groups; no other instance may use them)",
					"rds:ModifyDBParameterGroup DBParameterGroupName=" + s.AWS.ParameterGroup + " read_only=1 ApplyMethod=immediate",
					"rds:DescribeDBInstances DBInstanceIdentifier=<green> (ParameterApplyStatus in-sync; then @@read_only=1)",
					"undo: rds:ModifyDBParameterGroup DBParameterGroupName=" + s.AWS.ParameterGroup + " read_only=<as it was>, or rds:ResetDBParameterGroup read_only when the group did not set it",
				}}
		},
		done: func(ctx context.Context, e *Env) (bool, error) { return e.Journal.Done(StepPrepareGreen), nil },
		do: func(ctx context.Context, e *Env) error {
			bg, bgp, err := BlueGreenOf(ctx, e)
			if err != nil {
				return err
			}
			// What the group held before it is pinned, journaled first
			// (once: a resumed step would read its own pin) for the undo.
			if _, ok := GreenReadOnlyBefore(e); !ok {
				was, err := bgp.GreenReadOnlySetting(ctx, bg)
				if err != nil {
					return err
				}
				if err := e.record(StepPrepareGreen, map[string]string{"group": was.Group, "read_only": was.Value, "read_only_set": strconv.FormatBool(was.Set)}); err != nil {
					return err
				}
			}
			green, err := e.Green(ctx, bg)
			if err != nil {
				return err
			}
			return bgp.PrepareBlueGreen(ctx, bg, green)
		},
		undo: func(ctx context.Context, e *Env) error {
			was, ok := GreenReadOnlyBefore(e)
			if !ok {
				return nil // the group was not touched
			}
			bgp, isBG := e.Provider.(provider.BlueGreener)
			if !isBG {
				return fmt.Errorf("provider %s has no blue/green deployments", e.Provider.Name())
			}
			return bgp.RestoreSetting(ctx, was)
		},
	}
}

// GreenReadOnlyBefore is read_only in green's parameter group as
// prepare-green found it.
func GreenReadOnlyBefore(e *Env) (provider.GroupSetting, bool) {
	for _, x := range e.Journal.Entries() {
		if x.Step == StepPrepareGreen && x.Event == "data" && x.Data["group"] != "" {
			return provider.GroupSetting{Group: x.Data["group"], Name: "read_only", Value: x.Data["read_only"], Set: x.Data["read_only_set"] == "true"}, true
		}
	}
	return provider.GroupSetting{}, false
}

// checkTarget is the upgrade checks' target series for green's version.
func checkTarget(s *spec.Spec, greenVersion string) (compat.Target, bool) {
	v := s.BlueGreen.CheckVersion
	if v == "none" {
		return "", false
	}
	if v == "" {
		for _, t := range []compat.Target{compat.Target80, compat.Target84} {
			if strings.HasPrefix(greenVersion, string(t)+".") {
				return t, true
			}
		}
		return "", false
	}
	return compat.Target(v), true
}

func upgradeChecksStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			sum := "run the upgrade checks (check-upgrade's live checks) on blue for green's version"
			if len(s.BlueGreen.CompareLogs) > 0 {
				sum += fmt.Sprintf("; run the SELECTs of %s on blue and green and compare their answers", strings.Join(s.BlueGreen.CompareLogs, ", "))
			}
			sum += "; any error (or difference) stops the run before the switchover"
			return Info{Name: StepUpgradeChecks, Summary: sum, Touches: []string{"blue and green (read only)"}, Precondition: "green read-only", Undoable: true,
				Arrows: []Arrow{{PDBShift, PSource, "upgrade checks"}, {PDBShift, PTarget, "same answers as blue?"}}}
		},
		done: func(ctx context.Context, e *Env) (bool, error) { return e.Journal.Done(StepUpgradeChecks), nil },
		do: func(ctx context.Context, e *Env) error {
			bg, _, err := BlueGreenOf(ctx, e)
			if err != nil {
				return err
			}
			blue, err := e.Source(ctx)
			if err != nil {
				return err
			}
			data := map[string]string{}
			var problems []string
			if target, ok := checkTarget(s, bg.GreenVersion); ok {
				rep, err := upgradeChecks(ctx, e, blue, target)
				if err != nil {
					return err
				}
				nerr, nwarn := rep.Count(compat.SevError), rep.Count(compat.SevWarning)
				data["check_errors"], data["check_warnings"] = strconv.Itoa(nerr), strconv.Itoa(nwarn)
				if nerr > 0 || (s.BlueGreen.WarningsFail && nwarn > 0) {
					var named []string
					for _, f := range rep.Findings {
						if f.Severity == compat.SevError || (s.BlueGreen.WarningsFail && f.Severity == compat.SevWarning) {
							named = append(named, f.Check+" "+f.Object)
						}
					}
					problems = append(problems, fmt.Sprintf("upgrade checks for %s: %d error(s), %d warning(s): %s (report: %s)", target, nerr, nwarn,
						strings.Join(named, ", "), filepath.Join(e.Dir, "upgrade-checks.json")))
				}
			} else {
				e.Log.Info("no upgrade checks for green's version", "green_version", bg.GreenVersion)
			}
			if len(s.BlueGreen.CompareLogs) > 0 {
				res, err := compareAnswers(ctx, e, bg)
				if err != nil {
					return err
				}
				data["compared"], data["with_diffs"] = strconv.FormatInt(res.Stats.QueriesNoDiffs+res.Stats.QueriesWithDiffs, 10), strconv.FormatInt(res.Stats.QueriesWithDiffs, 10)
				if res.HasDiffs() {
					problems = append(problems, fmt.Sprintf("%d quer(ies) answered differently on blue and green (report: %s)", res.Stats.QueriesWithDiffs, filepath.Join(e.Dir, "compare.txt")))
				}
			}
			if len(problems) > 0 {
				return errors.New(strings.Join(problems, "; "))
			}
			return e.record(StepUpgradeChecks, data)
		},
	}
}

func upgradeChecks(ctx context.Context, e *Env, blue *dbconn.Conn, target compat.Target) (*compat.Report, error) {
	live, err := compat.Inspect(ctx, blue, compat.LiveOptions{Target: target})
	if err != nil {
		return nil, err
	}
	defer live.Close()
	rep := &compat.Report{Source: live.Source, TargetVersion: target, Findings: live.Run(ctx)}
	if e.Dir != "" {
		f, err := os.OpenFile(filepath.Join(e.Dir, "upgrade-checks.json"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := rep.WriteJSON(f); err != nil {
			return nil, fmt.Errorf("writing the upgrade checks' report: %w", err)
		}
	}
	return rep, nil
}

// compareAnswers runs the logs' SELECTs on blue and green, in read-only
// sessions, and writes the differences next to the journal.
func compareAnswers(ctx context.Context, e *Env, bg provider.BlueGreen) (*replay.CompareResult, error) {
	const conc = 4
	open := func(inst provider.Instance, role string) (*dbconn.Conn, error) {
		sp := inst.Spec(role)
		sp.KeepSessionDefaults, sp.MaxOpen = true, conc+1
		return dbconn.Open(ctx, e.withTLS(sp), e.Log)
	}
	src, err := e.Provider.Source(ctx)
	if err != nil {
		return nil, err
	}
	a, err := open(src, "blue")
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := open(bg.Green, "green")
	if err != nil {
		return nil, err
	}
	defer b.Close()
	bar := e.progress("compare blue and green", -1)
	res, err := replay.Compare(ctx, replay.Source{Paths: e.Spec.BlueGreen.CompareLogs, Kind: querylog.Auto}, a.DB, b.DB, replay.CompareOptions{
		Concurrency: conc, Policy: replay.Policy{Filter: querylog.FilterSelect}, ReadOnly: true,
		Progress: func(p replay.Progress) { bar.Update(-1, fmt.Sprintf("%d queries compared", p.Done)) },
	})
	if err != nil {
		bar.Done("failed")
		return nil, fmt.Errorf("comparing blue and green: %w", err)
	}
	bar.Done(fmt.Sprintf("%d with differences", res.Stats.QueriesWithDiffs))
	if e.Dir != "" {
		f, err := os.OpenFile(filepath.Join(e.Dir, "compare.txt"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := replay.WriteCompare(f, res, "text"); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func greenInSyncStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			return Info{Name: StepTargetInSync, Summary: fmt.Sprintf("wait until green's lag behind blue stays under %s (heartbeat, bytes)", s.Replication.MaxLag),
				Touches: []string{"blue: _dbshift.heartbeat"}, Precondition: "green replicating", Undoable: true,
				Arrows: []Arrow{{PSource, PTarget, "catch up (lag < " + s.Replication.MaxLag.String() + ")"}}}
		},
		do: func(ctx context.Context, e *Env) error {
			bg, _, err := BlueGreenOf(ctx, e)
			if err != nil {
				return err
			}
			src, err := e.Source(ctx)
			if err != nil {
				return err
			}
			green, err := e.Green(ctx, bg)
			if err != nil {
				return err
			}
			return waitInSync(ctx, e, src, green, "green catch-up", s.Replication.MaxLag, s.Replication.Timeout)
		},
	}
}

func blueGreenCutoverStep(s *spec.Spec) Step {
	return fstep{
		info: func() Info {
			sum := "stop: the operator starts the read-only switchover with `dbshift cutover --state DIR`"
			if s.Cutover.Mode == "auto" {
				sum = "read-only switchover now"
			}
			sum += ": fence blue (read_only=1 in its parameter group), drain, green executes blue's final coordinates, RDS switchover (green takes blue's name), green re-checked read-only; writes stay fenced until `dbshift cutover open-writes --state DIR`; `dbshift rollback --state DIR` points back"
			return Info{Name: StepCutover, Summary: sum, Touches: []string{"blue: read_only", "deployment: switchover", "traffic"},
				Precondition: "green in sync, checks passed", Undoable: false, PointOfNoReturn: true,
				Arrows: []Arrow{{PDBShift, PSource, "fence (read_only via parameter group), drain, record final coordinates"}, {PTarget, PSource, "execute exactly the final coordinates"},
					{PDBShift, PTarget, "SwitchoverBlueGreenDeployment (green stays read-only)"}, {PDBShift, PApp, "traffic follows the endpoint name; open-writes when verified"}},
				Calls: []string{
					"rds:ModifyDBParameterGroup DBParameterGroupName=<blue's group> read_only=1 ApplyMethod=immediate (then ParameterApplyStatus in-sync and @@read_only=1 on blue)",
					fmt.Sprintf("rds:SwitchoverBlueGreenDeployment BlueGreenDeploymentIdentifier=<id> SwitchoverTimeout=%d", int(SwitchoverTimeout(s)/time.Second)),
					"rds:DescribeBlueGreenDeployments (until SWITCHOVER_COMPLETED; SWITCHOVER_FAILED: RDS rolled back, blue unfenced)",
					"SELECT @@read_only on green (re-assert read_only=1 through " + s.AWS.ParameterGroup + " if it is 0)",
					"open-writes: rds:ModifyDBParameterGroup DBParameterGroupName=" + s.AWS.ParameterGroup + " read_only=0 ApplyMethod=immediate",
				}}
		},
		done: func(ctx context.Context, e *Env) (bool, error) { return e.Journal.Done(StepCutover), nil },
		do: func(ctx context.Context, e *Env) error {
			bg, _, err := BlueGreenOf(ctx, e)
			if err != nil {
				return err
			}
			// The switchover moves the endpoint names (green takes blue's):
			// the cutover's connections must keep reaching the same servers.
			src, err := e.pinnedConn(ctx, bg.Blue, "source")
			if err != nil {
				return err
			}
			green, err := e.pinnedConn(ctx, bg.Green, "green")
			if err != nil {
				return err
			}
			if e.Cutover == nil {
				return errors.New("no cutover runner configured")
			}
			return e.Cutover(ctx, src, green)
		},
	}
}

// pinnedConn connects to inst by the IP address its endpoint name resolves
// to now, so a reconnection after a rename still reaches the same server.
func (e *Env) pinnedConn(ctx context.Context, inst provider.Instance, role string) (*dbconn.Conn, error) {
	sp := inst.Spec(role)
	cfg, _, err := dbconn.ParseDSN(sp.DSN)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("endpoint of %s: %w", inst.ID, err)
	}
	ip, err := endpointIP(ctx, host)
	if err != nil {
		return nil, err
	}
	cfg.Addr = net.JoinHostPort(ip, port)
	sp.DSN = cfg.FormatDSN()
	return e.Conn(ctx, "pinned:"+inst.ID+"@"+cfg.Addr, sp)
}

// SwitchoverTimeout is RDS's bound on the switchover (its default 5m).
func SwitchoverTimeout(s *spec.Spec) time.Duration {
	if t := s.BlueGreen.SwitchoverTimeout; t > 0 {
		return t
	}
	return 5 * time.Minute
}
