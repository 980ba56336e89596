package maintenance

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// findNginx locates Debian's nginx (in /usr/sbin, often not on a user's
// PATH). Missing nginx fails the test unless DBSHIFT_SKIP_SERVERS=1.
func findNginx(t *testing.T) string {
	t.Helper()
	for _, n := range []string{"nginx", "/usr/sbin/nginx"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("DBSHIFT_SKIP_SERVERS") == "1" {
		t.Skip("nginx not installed and DBSHIFT_SKIP_SERVERS=1: skipping the nginx snippet test")
	}
	t.Fatal("nginx not installed: run `make deps` (as root) or apt-get install nginx")
	return ""
}

// backend counts the requests that reach the application and echoes what
// it got, so a test can tell a write went through.
type backend struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "backend %s %s %s", r.Method, r.URL.Path, body)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// startNginx runs nginx in the foreground on a loopback port with the
// snippet included in the server block, proxying to the backend.
func startNginx(t *testing.T, snippet string, backendAddr string) string {
	t.Helper()
	bin := findNginx(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "maintenance.conf"), []byte(snippet), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(t)
		conf := fmt.Sprintf(`
# master_process off: one process, no switch to the "nobody" user, which
# could not read the test's private directory.
master_process off;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen 127.0.0.1:%[2]d;
        include %[1]s/maintenance.conf;
        location / {
            proxy_pass http://%[3]s;
        }
    }
}
`, dir, port, backendAddr)
		confPath := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath).CombinedOutput(); err != nil {
			t.Fatalf("nginx -t rejects the snippet: %v\n%s\nsnippet:\n%s", err, out, snippet)
		}
		cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", confPath)
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting nginx: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = waitListening(addr, exited); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
			return addr
		}
		_ = cmd.Process.Kill()
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		if !strings.Contains(string(log), "Address already in use") {
			t.Fatalf("nginx did not start: %v\n%s", lastErr, log)
		}
	}
	t.Fatalf("nginx did not start: %v", lastErr)
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening polls until nginx accepts connections or exits.
func waitListening(addr string, exited chan error) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("nginx exited: %v", err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s", addr)
}

type response struct {
	code   int
	body   string
	header http.Header
}

func do(t *testing.T, method, url, body string, set func(*http.Request)) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

func TestNginxSnippet_RealNginxMaintenanceAndBypass(t *testing.T) {
	b := newBackend(t)
	snip, err := NginxSnippet(SnippetOptions{RetryAfter: 120})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + startNginx(t, snip, b.srv.Listener.Addr().String()) + "/orders"

	r := do(t, http.MethodPost, url, "order=1", nil)
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "Down for maintenance") {
		t.Errorf("without bypass: %d %q, want 503 with the maintenance page", r.code, r.body)
	}
	if r.header.Get("Retry-After") != "120" || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("without bypass: Retry-After %q Cache-Control %q", r.header.Get("Retry-After"), r.header.Get("Cache-Control"))
	}
	if n := b.hits.Load(); n != 0 {
		t.Errorf("the backend got %d requests during maintenance", n)
	}

	r = do(t, http.MethodPost, url, "order=2", func(q *http.Request) { q.Header.Set("X-Dbshift-Bypass", "1") })
	if r.code != http.StatusOK || r.body != "backend POST /orders order=2" {
		t.Errorf("with the bypass header: %d %q, want the backend's answer to the write", r.code, r.body)
	}
	r = do(t, http.MethodGet, url, "", func(q *http.Request) { q.AddCookie(&http.Cookie{Name: "dbshift_bypass", Value: "yes"}) })
	if r.code != http.StatusOK || r.body != "backend GET /orders " {
		t.Errorf("with the bypass cookie: %d %q, want the backend", r.code, r.body)
	}
	r = do(t, http.MethodGet, url, "", func(q *http.Request) { q.Header.Set("X-Dbshift-Bypass", "0") })
	if r.code != http.StatusServiceUnavailable {
		t.Errorf("with the header set to 0: %d, want 503", r.code)
	}
	if n := b.hits.Load(); n != 2 {
		t.Errorf("backend saw %d requests, want the 2 bypassing ones", n)
	}
}

func TestNginxSnippet_RealNginxTokenAndCustomPage(t *testing.T) {
	b := newBackend(t)
	page := filepath.Join(t.TempDir(), "sorry.html")
	if err := os.WriteFile(page, []byte("<h1>Back at 06:00 UTC</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	snip, err := NginxSnippet(SnippetOptions{BypassHeader: "X-Staff", BypassCookie: "staff", Token: "s3cret", Page: page})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + startNginx(t, snip, b.srv.Listener.Addr().String()) + "/"

	cases := []struct {
		name string
		set  func(*http.Request)
		code int
		body string
	}{
		{"no bypass", nil, 503, "<h1>Back at 06:00 UTC</h1>\n"},
		{"header, wrong token", func(q *http.Request) { q.Header.Set("X-Staff", "guess") }, 503, "<h1>Back at 06:00 UTC</h1>\n"},
		{"cookie, wrong token", func(q *http.Request) { q.AddCookie(&http.Cookie{Name: "staff", Value: "1"}) }, 503, "<h1>Back at 06:00 UTC</h1>\n"},
		{"header, token", func(q *http.Request) { q.Header.Set("X-Staff", "s3cret") }, 200, "backend GET / "},
		{"cookie, token", func(q *http.Request) { q.AddCookie(&http.Cookie{Name: "staff", Value: "s3cret"}) }, 200, "backend GET / "},
	}
	for _, c := range cases {
		r := do(t, http.MethodGet, url, "", c.set)
		if r.code != c.code || r.body != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.name, r.code, r.body, c.code, c.body)
		}
	}
	if r := do(t, http.MethodGet, url, "", nil); r.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q without --retry-after", r.header.Get("Retry-After"))
	}
}

func TestNginxSnippet_RejectsNamesNginxCannotUse(t *testing.T) {
	cases := []struct {
		o    SnippetOptions
		want string
	}{
		{SnippetOptions{BypassHeader: "X Staff"}, "bypass header"},
		{SnippetOptions{BypassCookie: "staff-pass"}, "bypass cookie"},
		{SnippetOptions{Token: `a"b`}, "bypass token"},
		{SnippetOptions{Page: "/nonexistent/page.html"}, "maintenance page"},
		{SnippetOptions{RetryAfter: -1}, "retry-after"},
	}
	for _, c := range cases {
		if _, err := NginxSnippet(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NginxSnippet(%+v) = %v, want an error about %s", c.o, err, c.want)
		}
	}
}

func TestNginxSnippet_ExplainsVariables(t *testing.T) {
	s, err := NginxSnippet(SnippetOptions{BypassHeader: "X-Ops-Pass", BypassCookie: "ops_pass"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#   $http_x_ops_pass\n", `the request header "X-Ops-Pass"`,
		"#   $cookie_ops_pass\n", `the cookie "ops_pass"`,
		"#   $dbshift_maintenance\n", "--bypass-token",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("snippet lacks %q:\n%s", want, s)
		}
	}
}
