package bufferpool

import "testing"

// Every message InnoDB puts in Innodb_buffer_pool_resize_status, as the
// servers print them (see the list above statusPatterns).
func TestParseStatus_KnownStrings(t *testing.T) {
	cases := []struct {
		server string
		raw    string
		phase  Phase
		stage  string
		done   uint64
		total  uint64
	}{
		{"any, before the first resize; MariaDB 10.11.12+ always", "", PhaseIdle, "idle", 0, 0},
		{"MySQL 5.7/8.0/8.4, MariaDB 10.2-10.11", "Resizing buffer pool from 134217728 to 1073741824 (unit=134217728).", PhaseRunning, "starting", 0, 0},
		{"MariaDB IEC units", "Resizing buffer pool from 1.000GiB to 256.000MiB (unit = 128.000MiB).", PhaseRunning, "starting", 0, 0},
		{"MySQL, MariaDB", "Disabling adaptive hash index.", PhaseRunning, "disabling adaptive hash index", 0, 0},
		{"MySQL, MariaDB", "Withdrawing blocks to be shrunken.", PhaseRunning, "withdrawing blocks", 0, 0},
		{"MySQL 5.7/8.0/8.4, MariaDB 10.2-10.4", "buffer pool 0 : withdrawing blocks. (8173/8191)", PhaseRunning, "withdrawing blocks", 8173, 8191},
		{"MariaDB 10.5-10.11", "withdrawing blocks. (8173/8191)", PhaseRunning, "withdrawing blocks", 8173, 8191},
		{"MariaDB IEC units", "Withdrawing blocks. (100/49152).", PhaseRunning, "withdrawing blocks", 100, 49152},
		{"MySQL, MariaDB 10.2-10.11", "Latching whole of buffer pool.", PhaseRunning, "latching the buffer pool", 0, 0},
		{"MariaDB IEC units", "Latching entire buffer pool.", PhaseRunning, "latching the buffer pool", 0, 0},
		{"MySQL 8.0.31+", "Starting pool resize", PhaseRunning, "resizing chunks", 0, 0},
		{"MySQL, MariaDB 10.2-10.4", "buffer pool 1 : resizing with chunks 8 to 2.", PhaseRunning, "resizing chunks", 0, 0},
		{"MariaDB 10.5-10.11", "buffer pool resizing with chunks 8 to 2.", PhaseRunning, "resizing chunks", 0, 0},
		{"MariaDB IEC units", "Resizing buffer pool from 8 chunks to 2 chunks.", PhaseRunning, "resizing chunks", 0, 0},
		{"MySQL", "Resizing hash tables.", PhaseRunning, "resizing hash tables", 0, 0},
		{"MySQL, MariaDB 10.2-10.11", "Resizing also other hash tables.", PhaseRunning, "resizing other hash tables", 0, 0},
		{"MariaDB IEC units", "Resizing other hash tables.", PhaseRunning, "resizing other hash tables", 0, 0},
		{"MySQL, MariaDB 10.2-10.11", "Completed resizing buffer pool at 220826  6:25:46.", PhaseCompleted, "completed", 0, 0},
		{"MariaDB IEC units", "Completed resizing buffer pool.", PhaseCompleted, "completed", 0, 0},
		{"MySQL, MariaDB 10.2-10.11", "Resizing buffer pool failed, finished resizing at 220826  6:25:46.", PhaseFailed, "failed", 0, 0},
		{"MariaDB IEC units", "Resizing buffer pool failed", PhaseFailed, "failed", 0, 0},
		{"MySQL 5.7/8.0/8.4, MariaDB 10.2-10.4", "Size did not change (old size = new size = 134217728. Nothing to do.", PhaseUnchanged, "size did not change", 0, 0},
		{"MariaDB 10.5+", "Size did not change: old size = new size = 134217728", PhaseUnchanged, "size did not change", 0, 0},
		{"a future server", "Defragmenting the moon.", PhaseUnknown, "unrecognised status", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.raw, func(t *testing.T) {
			got := ParseStatus(c.raw)
			if got.Phase != c.phase || got.Stage != c.stage || got.Done != c.done || got.Total != c.total {
				t.Errorf("%s: ParseStatus(%q) = phase %s stage %q %d/%d, want phase %s stage %q %d/%d",
					c.server, c.raw, got.Phase, got.Stage, got.Done, got.Total, c.phase, c.stage, c.done, c.total)
			}
			if got.Raw != c.raw || got.Code != -1 || got.Progress != -1 {
				t.Errorf("ParseStatus(%q) kept raw %q code %d progress %d", c.raw, got.Raw, got.Code, got.Progress)
			}
		})
	}
}

// MySQL 8.0.31+ status codes decide the phase where the string lags.
func TestStatusWithCode_MySQL8031(t *testing.T) {
	cases := []struct {
		raw      string
		code     int
		progress int
		phase    Phase
		stage    string
	}{
		{"Resizing buffer pool from 134217728 to 1073741824 (unit=134217728).", 1, 100, PhaseRunning, "starting"},
		{"Disabling adaptive hash index.", 2, 0, PhaseRunning, "disabling adaptive hash index"},
		{"buffer pool 0 : withdrawing blocks. (10/20)", 3, 50, PhaseRunning, "withdrawing blocks"},
		{"Latching whole of buffer pool.", 4, 57, PhaseRunning, "latching the buffer pool"},
		{"Starting pool resize", 5, 0, PhaseRunning, "resizing chunks"},
		{"Resizing hash tables.", 6, 100, PhaseRunning, "resizing hash tables"},
		// Code 6 with a completed-looking string cannot happen, but the code wins.
		{"Resizing also other hash tables.", 6, 100, PhaseRunning, "resizing hash tables"},
		{"Completed resizing buffer pool at 220826  6:25:46.", 0, 100, PhaseCompleted, "completed"},
		{"Size did not change (old size = new size = 134217728. Nothing to do.", 0, 0, PhaseUnchanged, "size did not change"},
		{"Resizing buffer pool failed, finished resizing at 220826  6:25:46.", 7, 100, PhaseFailed, "failed"},
		{"", 0, 0, PhaseIdle, "idle"},
	}
	for _, c := range cases {
		got := ParseStatus(c.raw).WithCode(c.code, c.progress)
		if got.Phase != c.phase || got.Stage != c.stage || got.Code != c.code || got.Progress != c.progress {
			t.Errorf("ParseStatus(%q).WithCode(%d, %d) = %s %q code %d progress %d, want %s %q",
				c.raw, c.code, c.progress, got.Phase, got.Stage, got.Code, got.Progress, c.phase, c.stage)
		}
	}
}

func TestPhaseTerminal_OnlyFinishedPhases(t *testing.T) {
	want := map[Phase]bool{PhaseIdle: true, PhaseRunning: false, PhaseCompleted: true, PhaseUnchanged: true, PhaseFailed: true, PhaseUnknown: false}
	for p, w := range want {
		if p.Terminal() != w {
			t.Errorf("%s.Terminal() = %v, want %v", p, p.Terminal(), w)
		}
	}
}

// A terminal status is this step's only with evidence the resize ran.
func TestDone_TellsThisResizeFromThePrevious(t *testing.T) {
	prev := reading{status: ParseStatus("Completed resizing buffer pool at 261122  3:07:46."), pagesTotal: 65536}
	async := Settings{}
	cases := []struct {
		name       string
		s          Settings
		now        reading
		sawRunning bool
		want       bool
	}{
		{"previous step's message, nothing moved yet", async, prev, false, false},
		{"saw it running", async, prev, true, true},
		{"new timestamp", async, reading{status: ParseStatus("Completed resizing buffer pool at 261122  3:07:47."), pagesTotal: 65536}, false, true},
		{"same second, page count moved", async, reading{status: prev.status, pagesTotal: 57344}, false, true},
		{"synchronous server: SET GLOBAL returned", Settings{Synchronous: true}, reading{status: ParseStatus("")}, false, true},
	}
	for _, c := range cases {
		if got := done(c.s, prev, c.now, c.sawRunning); got != c.want {
			t.Errorf("%s: done = %v, want %v", c.name, got, c.want)
		}
	}
}
