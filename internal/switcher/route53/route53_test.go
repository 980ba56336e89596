package route53

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/dbshift/dbshift/internal/awsfake"
	awsprov "github.com/dbshift/dbshift/internal/provider/aws"
	"github.com/dbshift/dbshift/internal/switcher"
)

const zone = "Z0FAKEZONE"

func newAPI(t *testing.T) (*awsfake.Server, *awsprov.Provider) {
	t.Helper()
	f := awsfake.New(awsfake.Options{})
	t.Cleanup(f.Close)
	f.AddHostedZone(zone, "example.com")
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	p, err := awsprov.New(context.Background(), awsprov.Config{Region: "us-east-1", Endpoint: f.URL(), Clock: f.Clock(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKEFAKEFAKE", "fake-secret", ""), RetryMaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

var (
	old = switcher.Endpoint{Name: "source", Addr: "prod.cfake.us-east-1.rds.amazonaws.com:3306"}
	tgt = switcher.Endpoint{Name: "target", Addr: "prod-encrypted.cfake.us-east-1.rds.amazonaws.com:3306"}
)

func TestSwitch_PointsTheNameAtTheTargetAndWaitsForInsync(t *testing.T) {
	f, api := newAPI(t)
	ctx := context.Background()
	sw := New(api, zone, "db.example.com", 0, awsprov.WaitOptions{Timeout: time.Hour})
	if err := sw.Check(ctx, old, tgt); err == nil || !strings.Contains(err.Error(), "no CNAME") {
		t.Fatalf("check without a record: %v", err)
	}
	if err := api.UpsertCNAME(ctx, awsprov.CNAMERequest{ZoneID: zone, Name: "db.example.com", Target: "prod.cfake.us-east-1.rds.amazonaws.com", TTL: 60}, awsprov.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := sw.Check(ctx, old, tgt); err != nil {
		t.Fatalf("check with the name on the old server: %v", err)
	}
	if err := sw.Switch(ctx, old, tgt); err != nil {
		t.Fatal(err)
	}
	vals, ttl, ok := f.Record(zone, "db.example.com", "CNAME")
	if !ok || !slices.Equal(vals, []string{"prod-encrypted.cfake.us-east-1.rds.amazonaws.com"}) || ttl != 5 {
		t.Fatalf("record after the switch: %v ttl %d (%v)", vals, ttl, ok)
	}
	// The call returned only once Route53 said INSYNC: the last GetChange
	// answered after the fake's DNS propagation time.
	var gets int
	for _, c := range f.Calls() {
		if c.Action == "GetChange" {
			gets++
		}
	}
	if gets < 2 {
		t.Errorf("%d GetChange polls; the switch did not wait for INSYNC", gets)
	}
	// A resumed cutover finds the name already on the target.
	if err := sw.Check(ctx, old, tgt); err != nil {
		t.Errorf("check after the switch: %v", err)
	}
}

func TestCheck_NameElsewhereIsRefused(t *testing.T) {
	_, api := newAPI(t)
	ctx := context.Background()
	if err := api.UpsertCNAME(ctx, awsprov.CNAMERequest{ZoneID: zone, Name: "db.example.com", Target: "other.cfake.us-east-1.rds.amazonaws.com"}, awsprov.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	err := New(api, zone, "db.example.com", 0, awsprov.WaitOptions{}).Check(ctx, old, tgt)
	if err == nil || !strings.Contains(err.Error(), "other.cfake") {
		t.Fatalf("check with the name on another server: %v", err)
	}
	if err := New(api, "ZNOSUCHZONE", "db.example.com", 0, awsprov.WaitOptions{}).Check(ctx, old, tgt); err == nil {
		t.Fatal("check of a zone that does not exist passed")
	}
}

func TestSwitch_StalledChangeTimesOut(t *testing.T) {
	f, api := newAPI(t)
	ctx := context.Background()
	f.StallDNSChanges(true)
	err := New(api, zone, "db.example.com", 0, awsprov.WaitOptions{Timeout: 10 * time.Minute}).Switch(ctx, old, tgt)
	if !errors.Is(err, awsprov.ErrTimeout) {
		t.Fatalf("stalled change: %v", err)
	}
}
