package loadhazard

import (
	"fmt"
	"strings"
	"testing"
)

func TestScan(t *testing.T) {
	tests := []struct {
		name    string
		sql     string
		targets []string
		want    []string // kind:line
	}{
		{"force", "COPY INTO raw.events\nFROM @stage\nFORCE = TRUE;", nil, []string{"copy-force:3"}},
		{"uncertain", "copy into raw.events from @s load_uncertain_files = true", nil, []string{"load-uncertain-files:1"}},
		{"plain copy", "COPY INTO raw.events FROM @stage PATTERN = '.*json'", nil, nil},
		{"recreated target", "CREATE OR REPLACE TABLE RAW.EVENTS (id int)", []string{"raw.events"}, []string{"recreates-load-target:1"}},
		{"recreated other", "CREATE OR REPLACE TABLE marts.daily (id int)", []string{"raw.events"}, nil},
		{"merge not deduplicated", "MERGE INTO marts.orders t\nUSING staging.orders s\nON t.order_id = s.order_id\nWHEN MATCHED THEN UPDATE SET x = 1", nil, []string{"merge-not-deduplicated:1"}},
		{"merge deduplicated", "MERGE INTO marts.orders t USING (SELECT * FROM staging.orders QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1) s ON t.order_id = s.order_id WHEN MATCHED THEN UPDATE SET x = 1", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, h := range Scan([]File{{Path: "x.sql", SQL: tc.sql}}, tc.targets) {
				got = append(got, fmt.Sprintf("%s:%d", h.Kind, h.Line))
				if h.Path != "x.sql" || h.Message == "" {
					t.Errorf("hazard = %+v", h)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("hazards = %v, want %v", got, tc.want)
			}
		})
	}
	if got := CopyTargets([]File{{SQL: "COPY INTO raw.a FROM @s; COPY INTO @stage/out FROM raw.b"}}); strings.Join(got, ",") != "raw.a" {
		t.Fatalf("copy targets = %v", got)
	}
}

func FuzzScan(f *testing.F) {
	f.Add("MERGE INTO t USING (SELECT 1) s ON t.a = s.a", "t")
	f.Add("COPY INTO x FROM @s FORCE=TRUE", "x")
	f.Add("drop table x; create table x (a int)", "x")
	f.Fuzz(func(t *testing.T, sql, target string) {
		lines := strings.Count(sql, "\n") + 1
		for _, h := range Scan([]File{{Path: "f", SQL: sql}}, []string{target}) {
			if h.Line < 1 || h.Line > lines {
				t.Fatalf("hazard at line %d of a %d-line text", h.Line, lines)
			}
		}
	})
}

// Offsets found case-insensitively must be offsets into the text as
// written: invalid UTF-8 before the ON clause once sliced past the end.
func TestScanMergeWithInvalidUTF8(t *testing.T) {
	sql := "MERGE INTO t USING s \xff\xfe\xfd ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = 1"
	hs := Scan([]File{{Path: "x.sql", SQL: sql}}, nil)
	if len(hs) != 1 || hs[0].Kind != MergeNotDeduped {
		t.Fatalf("hazards = %+v, want the MERGE not de-duplicated on id", hs)
	}
}

// WHEN and ON are words: a key named whenever_id, or a source named
// conversions, does not end or start the ON clause.
func TestMergeClausesAreWords(t *testing.T) {
	sql := "merge into t using conversions s on t.whenever_id = s.whenever_id when matched then update set x = 1"
	hs := Scan([]File{{Path: "x.sql", SQL: sql}}, nil)
	if len(hs) != 1 || hs[0].Kind != MergeNotDeduped || !strings.Contains(hs[0].Message, "whenever_id") {
		t.Fatalf("hazards = %+v, want the MERGE not de-duplicated on whenever_id", hs)
	}
}
