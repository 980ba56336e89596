package querylog_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/dbshift/dbshift/internal/querylog"
	"github.com/dbshift/dbshift/internal/querylog/genlog"
)

func benchmarkParse(b *testing.B, form genlog.Form) {
	var buf bytes.Buffer
	if _, _, err := genlog.Write(&buf, genlog.Options{Size: 64 << 20, Form: form}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := querylog.NewReader(bytes.NewReader(data), "bench", querylog.General)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		if st := r.Stats(); st.Unparsed != 0 {
			b.Fatalf("unparsed %d", st.Unparsed)
		}
	}
}

func BenchmarkReader_GeneralISO(b *testing.B)     { benchmarkParse(b, genlog.ISO) }
func BenchmarkReader_GeneralMariaDB(b *testing.B) { benchmarkParse(b, genlog.MariaDB) }
