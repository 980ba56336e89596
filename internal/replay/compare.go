package replay

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values for the parser's AST

	"github.com/dbshift/dbshift/internal/dbconn"
	"github.com/dbshift/dbshift/internal/querylog"
)

// Difference kinds, in the order they are reported for one query.
const (
	DiffError    = "error"     // an error on one side only, or different errors
	DiffColumns  = "columns"   // different column names
	DiffRowCount = "row_count" // different number of rows
	DiffRows     = "rows"      // same count, different values (NULL vs value too)
	DiffRowOrder = "row_order" // GROUP BY without ORDER BY: same rows, different order
	DiffWarnings = "warnings"  // different warnings (level and code)
)

// maxRowsKept bounds the rows held per query and side; beyond it only the
// counts are compared.
const maxRowsKept = 100000

// CompareOptions describe a comparison of two servers.
type CompareOptions struct {
	Concurrency int
	Policy      Policy
	Limit       int64
	ReadOnly    bool
	Progress    func(Progress)
}

// CompareStats are named after pt-upgrade's so reports can be set side by side.
type CompareStats struct {
	QueriesRead       int64 `json:"queries_read"`
	NotSelect         int64 `json:"not_select"`       // writes refused without --allow-writes
	QueriesFiltered   int64 `json:"queries_filtered"` // outside --filter, or session/USE context
	QueriesNoDiffs    int64 `json:"queries_no_diffs"`
	QueriesWithDiffs  int64 `json:"queries_with_diffs"`
	QueriesWithErrors int64 `json:"queries_with_errors"` // the same error on both sides
	UnparsedLines     int64 `json:"unparsed_lines"`
}

// DiffExample counts one kind of difference in a group, with its first case.
type DiffExample struct {
	Kind   string `json:"kind"`
	Count  int64  `json:"count"`
	Query  string `json:"query"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Detail string `json:"detail"`
}

// Group is every query sharing one fingerprint (literals normalised).
type Group struct {
	Fingerprint string        `json:"fingerprint"`
	Digest      string        `json:"digest"`
	Count       int64         `json:"count"`
	WithDiffs   int64         `json:"with_diffs"`
	Diffs       []DiffExample `json:"diffs,omitempty"`
	TimeA       time.Duration `json:"time_host1_ns"`
	TimeB       time.Duration `json:"time_host2_ns"`
	// Ratio is host2's total time over host1's: above 1, host2 is slower.
	Ratio float64 `json:"latency_ratio"`
}

// CompareResult is the whole comparison.
type CompareResult struct {
	Stats  CompareStats `json:"stats"`
	Groups []Group      `json:"groups"`
}

// HasDiffs says whether any query differed.
func (r *CompareResult) HasDiffs() bool { return r.Stats.QueriesWithDiffs > 0 }

// outcome is what one server answered.
type outcome struct {
	code     uint16
	msg      string
	cols     []string
	rows     []string // encoded, see encodeRow
	nrows    int64
	warnings []string // "Level Code: message"
	lat      time.Duration
}

// Compare runs every selected statement on both servers and groups the
// differences by fingerprint.
func Compare(ctx context.Context, src Source, a, b *sql.DB, o CompareOptions) (*CompareResult, error) {
	n := max(o.Concurrency, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := &CompareResult{}
	var mu sync.Mutex
	groups := map[string]*Group{}
	var order []string
	seen := map[string]int64{} // digest -> position in the log of its first query
	record := func(seq int64, fp, digest string, oa, ob outcome, diffs []DiffExample) {
		mu.Lock()
		defer mu.Unlock()
		g := groups[digest]
		if g == nil {
			g = &Group{Fingerprint: fp, Digest: digest}
			groups[digest] = g
			order = append(order, digest)
			seen[digest] = seq
		} else if seq < seen[digest] {
			seen[digest] = seq
		}
		g.Count++
		g.TimeA += oa.lat
		g.TimeB += ob.lat
		switch {
		case len(diffs) > 0:
			res.Stats.QueriesWithDiffs++
			g.WithDiffs++
		case oa.code != 0:
			res.Stats.QueriesWithErrors++
		default:
			res.Stats.QueriesNoDiffs++
		}
		for _, d := range diffs {
			i := slices.IndexFunc(g.Diffs, func(x DiffExample) bool { return x.Kind == d.Kind })
			if i < 0 {
				// The example is printed: a logged CREATE USER or
				// PASSWORD('...') must not put a password in the report,
				// nor a syntax error that quotes the statement.
				d.Count, d.Query = 1, querylog.RedactSecrets(d.Query)
				if d.Kind == DiffError {
					d.Detail = querylog.RedactSecrets(d.Detail)
				}
				g.Diffs = append(g.Diffs, d)
			} else {
				g.Diffs[i].Count++
			}
		}
	}

	type job struct {
		seq int64 // order in the log, so the report does not depend on scheduling
		ev  querylog.Event
	}
	jobs := make(chan job, n*16)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	safeOnly := o.ReadOnly || !o.Policy.AllowWrites
	for i := 0; i < n; i++ {
		sa, err := newSession(ctx, a, o.ReadOnly, safeOnly)
		if err != nil {
			close(jobs)
			wg.Wait()
			return nil, fmt.Errorf("host1: %w", err)
		}
		sb, err := newSession(ctx, b, o.ReadOnly, safeOnly)
		if err != nil {
			sa.Close()
			close(jobs)
			wg.Wait()
			return nil, fmt.Errorf("host2: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer sa.Close()
			defer sb.Close()
			p := parser.New()
			for j := range jobs {
				ev := j.ev
				oa, errA := runCapture(ctx, sa, ev)
				ob, errB := runCapture(ctx, sb, ev)
				if err := errors.Join(errA, errB); err != nil {
					errc <- err
					cancel()
					return
				}
				fp, digest := parser.NormalizeDigest(ev.Query)
				diffs := diffOutcomes(oa, ob, orderOf(p, ev.Query, fp))
				for i := range diffs {
					diffs[i].Query, diffs[i].File, diffs[i].Line = ev.Query, ev.File, ev.Line
				}
				record(j.seq, fp, digest.String(), oa, ob, diffs)
			}
		}()
	}

	s := src.open()
	var feedErr error
	var sent int64
	start := time.Now()
	stopProgress := func() {}
	if o.Progress != nil {
		stopProgress = startProgressFunc(o.Progress, func() Progress {
			mu.Lock()
			defer mu.Unlock()
			return Progress{Concurrency: n, Trial: 1, Done: res.Stats.QueriesNoDiffs + res.Stats.QueriesWithDiffs + res.Stats.QueriesWithErrors,
				Errors: res.Stats.QueriesWithDiffs, Elapsed: time.Since(start)}
		})
	}
feed:
	for o.Limit == 0 || sent < o.Limit {
		ev, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			feedErr = err
			break
		}
		mu.Lock()
		res.Stats.QueriesRead++
		switch o.Policy.Decide(ev) {
		case SkipWrite:
			res.Stats.NotSelect++
			mu.Unlock()
			continue
		case SkipContext, SkipFiltered:
			res.Stats.QueriesFiltered++
			mu.Unlock()
			continue
		}
		mu.Unlock()
		select {
		case jobs <- job{seq: sent, ev: ev}:
			sent++
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	stopProgress()
	res.Stats.UnparsedLines = s.Close().Unparsed
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if feedErr != nil {
		return nil, feedErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(order, func(x, y string) int { return cmp.Compare(seen[x], seen[y]) })
	for _, d := range order {
		g := groups[d]
		if g.TimeA > 0 {
			g.Ratio = float64(g.TimeB) / float64(g.TimeA)
		}
		res.Groups = append(res.Groups, *g)
	}
	return res, nil
}

// runCapture runs one statement and keeps what the comparison needs. A server
// error is part of the outcome; only a failure to reach the server (no error
// number) is returned.
func runCapture(ctx context.Context, s *session, ev querylog.Event) (outcome, error) {
	var o outcome
	if err := s.apply(ctx, ev); err != nil {
		if dbconn.ErrorNumber(err) == 0 {
			return o, err
		}
		o.code, o.msg = dbconn.ErrorNumber(err), err.Error()
		return o, nil
	}
	t0 := time.Now()
	rows, err := s.conn.QueryContext(ctx, ev.Query)
	if err == nil {
		err = readRows(rows, &o)
	}
	o.lat = time.Since(t0)
	if err != nil {
		o.code = dbconn.ErrorNumber(err)
		if o.code == 0 {
			return o, fmt.Errorf("run %s:%d: %w", ev.File, ev.Line, err)
		}
		o.msg = err.Error()
	}
	w, err := s.conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return o, fmt.Errorf("show warnings: %w", err)
	}
	defer w.Close()
	for w.Next() {
		var level, msg string
		var code int
		if err := w.Scan(&level, &code, &msg); err != nil {
			return o, fmt.Errorf("show warnings: %w", err)
		}
		o.warnings = append(o.warnings, fmt.Sprintf("%s %d: %s", level, code, msg))
	}
	return o, w.Err()
}

func readRows(rows *sql.Rows, o *outcome) error {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	o.cols = cols
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		o.nrows++
		if len(o.rows) < maxRowsKept {
			o.rows = append(o.rows, encodeRow(vals))
		}
	}
	return rows.Err()
}

// encodeRow keeps NULL apart from every string, including "NULL" and "".
func encodeRow(vals []sql.RawBytes) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(0x1f)
		}
		if v == nil {
			b.WriteByte(0)
			continue
		}
		b.WriteByte(1)
		b.Write(v)
	}
	return b.String()
}

func showRow(enc string) string {
	parts := strings.Split(enc, "\x1f")
	for i, p := range parts {
		if p == "\x00" {
			parts[i] = "NULL"
		} else {
			parts[i] = "'" + strings.TrimPrefix(p, "\x01") + "'"
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// rowOrder is how much of a result's order the comparison holds to.
type rowOrder int

const (
	unordered rowOrder = iota
	ordered            // a top-level ORDER BY fixes the order
	// groupOrder: GROUP BY without ORDER BY. MySQL 5.7 and MariaDB sort
	// such results implicitly and applications come to rely on it; MySQL
	// 8.0 does not, and a collation change moves rows too. Reported apart.
	groupOrder
)

func orderOf(p *parser.Parser, query, fingerprint string) rowOrder {
	stmt, err := p.ParseOneStmt(query, "", "")
	if err != nil { // syntax the TiDB parser lacks: fall back to the text
		switch {
		case strings.Contains(fingerprint, "order by"):
			return ordered
		case strings.Contains(fingerprint, "group by"):
			return groupOrder
		}
		return unordered
	}
	switch s := stmt.(type) {
	case *ast.SelectStmt:
		switch {
		case s.OrderBy != nil:
			return ordered
		case s.GroupBy != nil:
			return groupOrder
		}
	case *ast.SetOprStmt:
		if s.OrderBy != nil {
			return ordered
		}
	}
	return unordered
}

func diffOutcomes(a, b outcome, order rowOrder) []DiffExample {
	var d []DiffExample
	if a.code != b.code {
		d = append(d, DiffExample{Kind: DiffError, Detail: fmt.Sprintf("host1: %s; host2: %s", errText(a), errText(b))})
		return d
	}
	if a.code == 0 {
		if !slices.Equal(a.cols, b.cols) {
			d = append(d, DiffExample{Kind: DiffColumns, Detail: fmt.Sprintf("host1 (%s); host2 (%s)", strings.Join(a.cols, ", "), strings.Join(b.cols, ", "))})
		}
		if a.nrows != b.nrows {
			d = append(d, DiffExample{Kind: DiffRowCount, Detail: fmt.Sprintf("host1 %d rows; host2 %d rows%s", a.nrows, b.nrows, missingRow(a.rows, b.rows))})
		} else if det := rowDiff(a.rows, b.rows, order == ordered); det != "" {
			d = append(d, DiffExample{Kind: DiffRows, Detail: det})
		} else if order == groupOrder {
			if det := rowDiff(a.rows, b.rows, true); det != "" {
				d = append(d, DiffExample{Kind: DiffRowOrder, Detail: "GROUP BY without ORDER BY returns the same rows in another order: " + det})
			}
		}
	}
	if !slices.Equal(warnKeys(a.warnings), warnKeys(b.warnings)) {
		d = append(d, DiffExample{Kind: DiffWarnings, Detail: fmt.Sprintf("host1 [%s]; host2 [%s]", strings.Join(a.warnings, "; "), strings.Join(b.warnings, "; "))})
	}
	return d
}

func errText(o outcome) string {
	if o.code == 0 {
		return "no error"
	}
	return o.msg
}

// warnKeys compares warnings by level and code: message wording changes
// between versions without meaning anything.
func warnKeys(w []string) []string {
	k := make([]string, len(w))
	for i, s := range w {
		k[i], _, _ = strings.Cut(s, ":")
	}
	slices.Sort(k)
	return k
}

func rowDiff(a, b []string, ordered bool) string {
	if !ordered {
		a, b = slices.Clone(a), slices.Clone(b)
		slices.Sort(a)
		slices.Sort(b)
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			what := "row"
			if !ordered {
				what = "sorted row"
			}
			return fmt.Sprintf("%s %d: host1 %s; host2 %s", what, i+1, showRow(a[i]), showRow(b[i]))
		}
	}
	return ""
}

// missingRow names one row that only one side returned.
func missingRow(a, b []string) string {
	count := map[string]int{}
	for _, r := range a {
		count[r]++
	}
	for _, r := range b {
		count[r]--
	}
	for _, r := range a {
		if count[r] > 0 {
			return "; only host1 has " + showRow(r)
		}
	}
	for _, r := range b {
		if count[r] < 0 {
			return "; only host2 has " + showRow(r)
		}
	}
	return ""
}
