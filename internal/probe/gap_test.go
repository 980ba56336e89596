package probe

import (
	"testing"
	"time"
)

func TestGaps_LongestAndAroundAMoment(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := Result{Acked: []Ack{{Seq: 1, At: at(0)}, {Seq: 2, At: at(2)}, {Seq: 3, At: at(100)}, {Seq: 4, At: at(102)}, {Seq: 5, At: at(130)}}}
	if g := longestGap(r.Acked); g.AfterSeq != 2 || g.BeforeSeq != 3 || g.Duration != 98*time.Millisecond {
		t.Errorf("longest gap = %+v", g)
	}
	cases := []struct {
		name          string
		t             time.Time
		after, before int64
		d             time.Duration
	}{
		{"inside the outage", at(50), 2, 3, 98 * time.Millisecond},
		{"on an ack", at(102), 4, 5, 28 * time.Millisecond},
		{"just after an ack", at(102).Add(time.Nanosecond), 4, 5, 28 * time.Millisecond},
		{"before the first ack", at(-1), 0, 0, 0},
		{"after the last ack", at(131), 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := r.GapAround(c.t)
			if g.AfterSeq != c.after || g.BeforeSeq != c.before || g.Duration != c.d {
				t.Errorf("GapAround = %+v, want %d..%d %s", g, c.after, c.before, c.d)
			}
		})
	}
}
