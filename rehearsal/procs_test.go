package rehearsal

import "testing"

func TestGoMaxProcsNamesTheLastSetting(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"PATH=/bin"}, ""},
		{[]string{"GOMAXPROCS=4", "PATH=/bin"}, " (GOMAXPROCS=4)"},
		{[]string{"GOMAXPROCS=4", "GOMAXPROCS=1"}, " (GOMAXPROCS=1)"},
		{nil, ""},
	} {
		if got := goMaxProcs(tc.env); got != tc.want {
			t.Errorf("goMaxProcs(%q) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
