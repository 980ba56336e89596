package bufferpool

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSize_Forms(t *testing.T) {
	cases := []struct {
		in   string
		want uint64
	}{
		{"1073741824", 1 << 30},
		{"4G", 4 << 30},
		{"4g", 4 << 30},
		{"128M", 128 << 20},
		{"128MiB", 128 << 20},
		{"128MB", 128 << 20},
		{"512K", 512 << 10},
		{"1T", 1 << 40},
		{"1.5G", 3 << 29},
		{" 256M ", 256 << 20},
		{"0", 0},
	}
	for _, c := range cases {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseSize_Rejects(t *testing.T) {
	for _, in := range []string{"", "G", "abc", "-1G", "12Q", "99999999999999999999", "20000000000T"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseSize(%q) error spans lines: %q", in, err)
		}
	}
}

func TestFormatSize_LargestExactUnit(t *testing.T) {
	cases := map[uint64]string{1 << 30: "1G", 896 << 20: "896M", 1536 << 10: "1536K", 3 << 29: "1536M", 1000: "1000", 6291456: "6M"}
	for in, want := range cases {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestPlan_StepsRoundedToUnit(t *testing.T) {
	mysql8 := Settings{Unit: (128 << 20) * 16} // chunk 128M x 16 instances
	mariadb := Settings{Unit: 1 << 20}
	cases := []struct {
		name     string
		s        Settings
		from, to uint64
		step     uint64
		want     []uint64
	}{
		{"shrink 1G to 256M by 128M", mariadb, 1 << 30, 256 << 20, 128 << 20,
			[]uint64{896 << 20, 768 << 20, 640 << 20, 512 << 20, 384 << 20, 256 << 20}},
		{"grow with a short last step", mariadb, 256 << 20, 1 << 30, 300 << 20,
			[]uint64{556 << 20, 856 << 20, 1 << 30}},
		{"step rounded up to chunk x instances", mysql8, 8 << 30, 4 << 30, 1 << 30,
			[]uint64{6 << 30, 4 << 30}},
		{"target rounded up to chunk x instances", mysql8, 8 << 30, 5 << 30, 4 << 30,
			[]uint64{6 << 30}},
		{"already there", mariadb, 1 << 30, 1 << 30, 128 << 20, nil},
	}
	for _, c := range cases {
		got, err := Plan(c.from, c.to, c.step, c.s)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Plan = %v, %v; want %v", c.name, fmtSizes(got), err, fmtSizes(c.want))
		}
	}
	if _, err := Plan(1<<30, 1<<29, 0, mariadb); err == nil {
		t.Error("Plan with step 0 succeeded")
	}
}

func fmtSizes(s []uint64) string {
	var p []string
	for _, n := range s {
		p = append(p, FormatSize(n))
	}
	return strings.Join(p, ",")
}

func TestValidate_OneLineReasons(t *testing.T) {
	s := Settings{Unit: 1 << 20, Min: 2 << 20, Max: 1 << 40, SizeMax: 8 << 30}
	cases := []struct {
		to   uint64
		want string
	}{
		{1 << 20, "below the server's minimum innodb_buffer_pool_size 2M"},
		{16 << 30, "above innodb_buffer_pool_size_max 8G"},
	}
	for _, c := range cases {
		err := Validate(c.to, s)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Validate(%s) = %v, want one line containing %q", FormatSize(c.to), err, c.want)
		}
	}
	if err := Validate(256<<20, s); err != nil {
		t.Errorf("Validate(256M) = %v", err)
	}
	if err := Validate(256<<20, Settings{Unit: 1 << 20, RDS: true}); err == nil || !strings.Contains(err.Error(), "parameter group") {
		t.Errorf("Validate on RDS = %v, want the parameter-group refusal", err)
	}
}
