package aws

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dbshift/dbshift/internal/awsfake"
)

// BenchmarkFetchLog measures FetchLog's client side: 1 MB portions (RDS's
// cap) of a 32 MB general log through the SDK's XML decoding, against the
// local fake. Real RDS adds the network and its own pacing on top.
func BenchmarkFetchLog(b *testing.B) {
	f := awsfake.New(awsfake.Options{})
	b.Cleanup(f.Close)
	f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
	line := "2026-01-01T00:00:00.000000Z\t   42 Query\tSELECT * FROM orders WHERE id = 12345 AND status = 'open'\n"
	data := []byte(strings.Repeat(line, 32<<20/len(line)))
	f.AppendLog("prod", generalLog, data)
	p := newProviderFor(b, f, nil)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if err := p.FetchLog(context.Background(), "prod", "general", time.Time{}, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunbook1ControlPlane runs replica -> snapshot -> encrypted copy
// -> restore -> verify -> cleanup against the fake on its virtual clock: the
// cost of the control plane's own calls and polling, without AWS's minutes.
func BenchmarkRunbook1ControlPlane(b *testing.B) {
	steps := runbook1Steps()
	for range b.N {
		b.StopTimer()
		f := awsfake.New(awsfake.Options{})
		f.AddInstance(awsfake.InstanceSpec{ID: "prod"})
		p := newProviderFor(b, f, nil)
		r := Runbook1{RunID: "bench", SourceID: "prod", KmsKeyID: testKMSKey}.WithDefaults()
		b.StartTimer()
		for _, s := range steps {
			if err := s.run(context.Background(), p, r); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := p.DeleteRunResources(context.Background(), r.RunID, []Role{RoleReplica, RoleSnapshot, RoleEncryptedCopy}, wait); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.Close()
		b.StartTimer()
	}
}
