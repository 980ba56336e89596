package replay

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func ms(us int64) string { return strconv.FormatFloat(float64(us)/1000, 'f', 3, 64) }

// WriteLoad renders a load test as text, csv, json or html.
func WriteLoad(w io.Writer, r *LoadResult, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return writeLoadCSV(w, r)
	case "html":
		return writeLoadHTML(w, r)
	}
	return writeLoadText(w, r)
}

func writeLoadText(w io.Writer, r *LoadResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\ttrial\tqueries\terrors\tskipped\tnot read-only\tseconds\tqps\tmin ms\tp50 ms\tp95 ms\tp99 ms\tmax ms\terrors by code\t")
	for _, l := range r.Levels {
		for i, t := range l.Trials {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t%.3f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Concurrency, i+1, t.Queries, t.Errors, t.Skipped, t.NotReadOnly,
				t.Elapsed.Seconds(), t.QPS, ms(t.Latency.Min), ms(t.Latency.P50), ms(t.Latency.P95), ms(t.Latency.P99), ms(t.Latency.Max), codes(t.ByCode))
		}
	}
	return tw.Flush()
}

func codes(c []ErrorCount) string {
	var s []string
	for _, e := range c {
		s = append(s, fmt.Sprintf("%d×%d", e.Code, e.Count))
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, " ")
}

// levelSummary is one level as DBAs paste it: the spread over trials.
type levelSummary struct {
	Concurrency               int
	Trials                    int
	Queries, Errors           int64
	NotReadOnly               int64
	TimeMin, TimeMed, TimeMax float64
	QPSMin, QPSMed, QPSMax    float64
	P50, P95, P99, Max        int64
}

func summariseLevel(l Level) levelSummary {
	s := levelSummary{Concurrency: l.Concurrency, Trials: len(l.Trials), P50: l.Latency.P50, P95: l.Latency.P95, P99: l.Latency.P99, Max: l.Latency.Max}
	var times, qps []float64
	for _, t := range l.Trials {
		s.Queries += t.Queries
		s.Errors += t.Errors
		s.NotReadOnly += t.NotReadOnly
		times = append(times, t.Elapsed.Seconds())
		qps = append(qps, t.QPS)
	}
	if len(times) > 0 {
		s.TimeMin, s.TimeMed, s.TimeMax = minF(times), median(times), maxF(times)
		s.QPSMin, s.QPSMed, s.QPSMax = minF(qps), median(qps), maxF(qps)
	}
	return s
}

func minF(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

func maxF(v []float64) float64 {
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func writeLoadCSV(w io.Writer, r *LoadResult) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"concurrency", "trials", "queries", "errors", "seconds_min", "seconds_median", "seconds_max",
		"qps_min", "qps_median", "qps_max", "p50_ms", "p95_ms", "p99_ms", "max_ms", "skipped_not_read_only"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	for _, l := range r.Levels {
		s := summariseLevel(l)
		cw.Write([]string{strconv.Itoa(s.Concurrency), strconv.Itoa(s.Trials), strconv.FormatInt(s.Queries, 10), strconv.FormatInt(s.Errors, 10),
			f(s.TimeMin), f(s.TimeMed), f(s.TimeMax), f(s.QPSMin), f(s.QPSMed), f(s.QPSMax), ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), strconv.FormatInt(s.NotReadOnly, 10)})
	}
	cw.Flush()
	return cw.Error()
}

// chart is an inline SVG line chart: no scripts, no network fetches.
type chart struct {
	Title  string
	Unit   string
	Series []series
	XTicks []tick
	YTicks []tick
}

type series struct {
	Name    string
	Color   string
	Points  string
	LegendY float64
}

type tick struct {
	Pos   float64
	Label string
}

const (
	chartW, chartH         = 560.0, 260.0
	padL, padR, padT, padB = 60.0, 20.0, 20.0, 40.0
)

func makeChart(title, unit string, xs []int, ys map[string][]float64, names []string) chart {
	c := chart{Title: title, Unit: unit}
	ymax := 0.0
	for _, n := range names {
		for _, y := range ys[n] {
			ymax = max(ymax, y)
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	ymax *= 1.1
	px := func(i int) float64 {
		if len(xs) == 1 {
			return padL + (chartW-padL-padR)/2
		}
		return padL + float64(i)*(chartW-padL-padR)/float64(len(xs)-1)
	}
	py := func(y float64) float64 { return chartH - padB - y/ymax*(chartH-padT-padB) }
	for i, x := range xs {
		c.XTicks = append(c.XTicks, tick{Pos: px(i), Label: strconv.Itoa(x)})
	}
	for k := 0; k <= 4; k++ {
		y := ymax * float64(k) / 4
		c.YTicks = append(c.YTicks, tick{Pos: py(y), Label: strconv.FormatFloat(y, 'g', 4, 64)})
	}
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}
	for si, n := range names {
		var pts []string
		for i, y := range ys[n] {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(i), py(y)))
		}
		c.Series = append(c.Series, series{Name: n, Color: colors[si%len(colors)], Points: strings.Join(pts, " "), LegendY: padT + 14*float64(si+1)})
	}
	return c
}

var loadHTML = template.Must(template.New("load").Funcs(template.FuncMap{"ms": ms}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>dbshift replay</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}svg{margin:1em 0}</style>
</head><body><h1>dbshift replay — load test</h1><p>Generated {{.When}}.</p>
<table><tr><th>concurrency</th><th>trials</th><th>queries</th><th>errors</th><th>QPS min / median / max</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th><th>skipped, not read-only</th></tr>
{{range .Rows}}<tr><td>{{.Concurrency}}</td><td>{{.Trials}}</td><td>{{.Queries}}</td><td>{{.Errors}}</td><td>{{printf "%.0f / %.0f / %.0f" .QPSMin .QPSMed .QPSMax}}</td><td>{{ms .P50}}</td><td>{{ms .P95}}</td><td>{{ms .P99}}</td><td>{{ms .Max}}</td><td>{{.NotReadOnly}}</td></tr>
{{end}}</table>
{{range .Charts}}<h2>{{.Title}}</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="560" height="260" viewBox="0 0 560 260">
<line x1="60" y1="220" x2="540" y2="220" stroke="#000"/><line x1="60" y1="20" x2="60" y2="220" stroke="#000"/>
{{range .XTicks}}<text x="{{.Pos}}" y="238" font-size="11" text-anchor="middle">{{.Label}}</text>{{end}}
{{range .YTicks}}<text x="54" y="{{.Pos}}" font-size="11" text-anchor="end">{{.Label}}</text><line x1="60" y1="{{.Pos}}" x2="540" y2="{{.Pos}}" stroke="#eee"/>{{end}}
<text x="300" y="256" font-size="11" text-anchor="middle">concurrency</text>
{{range $s := .Series}}<polyline fill="none" stroke="{{$s.Color}}" stroke-width="2" points="{{$s.Points}}"/><text x="470" y="{{$s.LegendY}}" font-size="11" fill="{{$s.Color}}">{{$s.Name}}</text>{{end}}
</svg><p>{{.Unit}}</p>{{end}}
</body></html>
`))

func writeLoadHTML(w io.Writer, r *LoadResult) error {
	var rows []levelSummary
	var xs []int
	lat := map[string][]float64{}
	qps := map[string][]float64{}
	for _, l := range r.Levels {
		s := summariseLevel(l)
		rows = append(rows, s)
		xs = append(xs, l.Concurrency)
		lat["p50"] = append(lat["p50"], float64(s.P50)/1000)
		lat["p95"] = append(lat["p95"], float64(s.P95)/1000)
		lat["p99"] = append(lat["p99"], float64(s.P99)/1000)
		qps["median QPS"] = append(qps["median QPS"], s.QPSMed)
	}
	data := struct {
		When   string
		Rows   []levelSummary
		Charts []chart
	}{
		When: time.Now().UTC().Format(time.RFC3339),
		Rows: rows,
		Charts: []chart{
			makeChart("Latency versus concurrency", "milliseconds", xs, lat, []string{"p50", "p95", "p99"}),
			makeChart("Throughput versus concurrency", "queries per second", xs, qps, []string{"median QPS"}),
		},
	}
	return loadHTML.Execute(w, data)
}

// WriteCompare renders a comparison as text or json.
func WriteCompare(w io.Writer, r *CompareResult, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	st := r.Stats
	fmt.Fprintf(w, "# Stats\nqueries_read        %d\nnot_select          %d\nqueries_filtered    %d\nqueries_no_diffs    %d\nqueries_with_diffs  %d\nqueries_with_errors %d\nunparsed_lines      %d\n",
		st.QueriesRead, st.NotSelect, st.QueriesFiltered, st.QueriesNoDiffs, st.QueriesWithDiffs, st.QueriesWithErrors, st.UnparsedLines)
	for _, g := range r.Groups {
		if len(g.Diffs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n# Query %s: %d of %d with differences, latency ratio host2/host1 %.2f\n# %s\n", g.Digest[:16], g.WithDiffs, g.Count, g.Ratio, g.Fingerprint)
		for _, d := range g.Diffs {
			fmt.Fprintf(w, "  %-9s x%d  %s\n    example %s:%d: %s\n", d.Kind, d.Count, d.Detail, d.File, d.Line, oneLine(d.Query))
		}
	}
	if !r.HasDiffs() {
		fmt.Fprintln(w, "\nNo differences.")
	}
	return nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
