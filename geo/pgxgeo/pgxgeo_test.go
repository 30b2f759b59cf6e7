package pgxgeo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"gridmap/geo"
	"gridmap/geo/pgxgeo"
	"gridmap/internal/testdb"
)

// openPool returns a pool on a fresh PostGIS database with the geometry codec registered.
func openPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testdb.ConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.AfterConnect = pgxgeo.Register
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var (
	point   = orb.Point{121.5654, 25.033}
	polygon = orb.Polygon{
		{{121.5, 25}, {121.6, 25}, {121.6, 25.1}, {121.5, 25.1}, {121.5, 25}},
		{{121.52, 25.02}, {121.54, 25.02}, {121.54, 25.04}, {121.52, 25.02}},
	}
	multi = orb.MultiPolygon{
		{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
		{{{10, 10}, {11, 10}, {11, 11}, {10, 10}}},
	}
)

// queryFormats are the wire formats a geometry travels in. The simple protocol (text
// parameters and results) is what a DATABASE_URL with default_query_exec_mode=simple_protocol
// gives, e.g. behind PgBouncer.
var queryFormats = []struct {
	name string
	args []any // leading query options
}{
	{"binary", nil},
	{"text result", []any{pgx.QueryResultFormats{pgx.TextFormatCode}}},
	{"simple protocol", []any{pgx.QueryExecModeSimpleProtocol}},
}

// A geometry sent as a parameter reaches PostGIS intact, in SRID 4326, and comes back equal,
// in both the binary and the text wire formats.
func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		g       orb.Geometry
		pgType  string
		npoints int
	}{
		{"Point", point, "ST_Point", 1},
		{"LineString", orb.LineString{{0, 0}, {1, 1}, {2, 0}}, "ST_LineString", 3},
		{"Polygon", polygon, "ST_Polygon", 9},
		{"MultiPolygon", multi, "ST_MultiPolygon", 8},
	}
	for _, tt := range tests {
		for _, f := range queryFormats {
			t.Run(tt.name+"/"+f.name, func(t *testing.T) {
				var (
					got    orb.Geometry
					typ    string
					srid   int
					npts   int
					wktLen int
				)
				args := append(append([]any{}, f.args...), tt.g)
				err := pool.QueryRow(ctx, `SELECT $1::geometry, ST_GeometryType($1::geometry), ST_SRID($1::geometry),
					ST_NPoints($1::geometry), length(ST_AsText($1::geometry))`, args...).Scan(&got, &typ, &srid, &npts, &wktLen)
				if err != nil {
					t.Fatal(err)
				}
				if !orb.Equal(got, tt.g) {
					t.Errorf("got %v, want %v", got, tt.g)
				}
				if typ != tt.pgType || srid != geo.SRID || npts != tt.npoints {
					t.Errorf("PostGIS sees %s SRID %d with %d points, want %s SRID %d with %d points",
						typ, srid, npts, tt.pgType, geo.SRID, tt.npoints)
				}
			})
		}
	}
}

// PostGIS reads the coordinates the codec sent: a position computed in SQL from the parameter
// matches the Go value (so x/y are not swapped or mangled).
func TestCodecCoordinates(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	var x, y, area float64
	err := pool.QueryRow(context.Background(), `SELECT ST_X($1::geometry), ST_Y($1::geometry), ST_Area($2::geometry)`,
		point, multi).Scan(&x, &y, &area)
	if err != nil {
		t.Fatal(err)
	}
	if x != point[0] || y != point[1] {
		t.Errorf("PostGIS reads the point as (%v, %v), want %v", x, y, point)
	}
	if area != 1.0 { // two right triangles of area 0.5
		t.Errorf("area %v, want 1", area)
	}
}

// A geometry[] parameter (how the demo loader passes a city's boundaries to ST_Union).
func TestCodecArray(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	ctx := context.Background()
	in := []orb.Geometry{point, polygon, multi}
	for _, f := range queryFormats {
		t.Run(f.name, func(t *testing.T) {
			var (
				n     int
				types string
				back  []orb.Geometry
			)
			args := append(append([]any{}, f.args...), in)
			err := pool.QueryRow(ctx, `SELECT cardinality($1::geometry[]),
				(SELECT string_agg(ST_GeometryType(g), ',') FROM unnest($1::geometry[]) g), $1::geometry[]`, args...).Scan(&n, &types, &back)
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 || types != "ST_Point,ST_Polygon,ST_MultiPolygon" {
				t.Errorf("PostGIS sees %d geometries: %s", n, types)
			}
			if len(back) != len(in) {
				t.Fatalf("scanned %d geometries, want %d", len(back), len(in))
			}
			for i := range in {
				if !orb.Equal(back[i], in[i]) {
					t.Errorf("element %d: got %v, want %v", i, back[i], in[i])
				}
			}
		})
	}
}

// Geometry columns scan into the concrete orb types, a Polygon into a MultiPolygon (the
// stored boundaries are MultiPolygons, some sources give Polygons), and raw EWKB into []byte.
func TestCodecScan(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	ctx := context.Background()

	t.Run("Point", func(t *testing.T) {
		var p orb.Point
		if err := pool.QueryRow(ctx, `SELECT ST_SetSRID(ST_MakePoint(1.5, -2.5), 4326)`).Scan(&p); err != nil {
			t.Fatal(err)
		}
		if p != (orb.Point{1.5, -2.5}) {
			t.Errorf("got %v", p)
		}
	})
	t.Run("Polygon into MultiPolygon", func(t *testing.T) {
		var mp orb.MultiPolygon
		if err := pool.QueryRow(ctx, `SELECT $1::geometry`, polygon).Scan(&mp); err != nil {
			t.Fatal(err)
		}
		if !orb.Equal(mp, orb.MultiPolygon{polygon}) {
			t.Errorf("got %v", mp)
		}
	})
	t.Run("MultiPolygon into MultiPolygon", func(t *testing.T) {
		var mp orb.MultiPolygon
		if err := pool.QueryRow(ctx, `SELECT ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((10 10,11 10,11 11,10 10)))', 4326)`).Scan(&mp); err != nil {
			t.Fatal(err)
		}
		if !orb.Equal(mp, multi) {
			t.Errorf("got %v", mp)
		}
	})
	t.Run("MultiPolygon into Point fails", func(t *testing.T) {
		var p orb.Point
		err := pool.QueryRow(ctx, `SELECT $1::geometry`, multi).Scan(&p)
		if err == nil || !strings.Contains(err.Error(), "cannot scan MultiPolygon into *orb.Point") {
			t.Errorf("err = %v, want cannot scan MultiPolygon into *orb.Point", err)
		}
	})
	t.Run("Point into Polygon fails", func(t *testing.T) {
		var p orb.Polygon
		if err := pool.QueryRow(ctx, `SELECT $1::geometry`, point).Scan(&p); err == nil {
			t.Errorf("scanned a Point into an orb.Polygon: %v", p)
		}
	})
	// Binary only: for a text-format result pgx hands a *[]byte the raw text (hex EWKB) before
	// asking the codec, so the codec's text branch for []byte is never reached.
	t.Run("EWKB bytes", func(t *testing.T) {
		var b []byte
		if err := pool.QueryRow(ctx, `SELECT $1::geometry`, polygon).Scan(&b); err != nil {
			t.Fatal(err)
		}
		g, srid, err := ewkb.Unmarshal(b)
		if err != nil {
			t.Fatalf("not EWKB (%x): %v", b, err)
		}
		if srid != geo.SRID || !orb.Equal(g, polygon) {
			t.Errorf("EWKB holds %v in SRID %d", g, srid)
		}
	})
	t.Run("NULL", func(t *testing.T) {
		var g orb.Geometry
		err := pool.QueryRow(ctx, `SELECT NULL::geometry`).Scan(&g)
		if err == nil || !strings.Contains(err.Error(), "NULL") {
			t.Errorf("scanning NULL into orb.Geometry: err = %v, want one about NULL", err)
		}
		var p *orb.Point
		if err := pool.QueryRow(ctx, `SELECT NULL::geometry`).Scan(&p); err != nil || p != nil {
			t.Errorf("scanning NULL into *orb.Point: %v, %v; want nil, nil", p, err)
		}
		if err := pool.QueryRow(ctx, `SELECT $1::geometry`, point).Scan(&p); err != nil || p == nil || *p != point {
			t.Errorf("scanning a point into *orb.Point: %v, %v", p, err)
		}
		var b []byte
		if err := pool.QueryRow(ctx, `SELECT NULL::geometry`).Scan(&b); err != nil || b != nil {
			t.Errorf("scanning NULL into []byte: %x, %v; want nil, nil", b, err)
		}
	})
	t.Run("Values", func(t *testing.T) {
		rows, err := pool.Query(ctx, `SELECT $1::geometry`, multi)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatal(rows.Err())
		}
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := v[0].(orb.Geometry); !ok || !orb.Equal(g, multi) {
			t.Errorf("Values()[0] = %#v, want the orb.MultiPolygon", v[0])
		}
	})
}

// A table round trip: the path every store takes (insert with a parameter, select the column).
func TestCodecTable(t *testing.T) {
	t.Parallel()
	pool := openPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE shapes (id int PRIMARY KEY, g geometry(Geometry, 4326) NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	in := map[int]orb.Geometry{1: point, 2: polygon, 3: multi}
	for id, g := range in {
		if _, err := pool.Exec(ctx, `INSERT INTO shapes (id, g) VALUES ($1, $2)`, id, g); err != nil {
			t.Fatalf("insert %d: %v", id, err)
		}
	}
	rows, err := pool.Query(ctx, `SELECT id, g FROM shapes ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		ID int
		G  orb.Geometry
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[shape])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(in) {
		t.Fatalf("%d rows, want %d", len(got), len(in))
	}
	for _, s := range got {
		if !orb.Equal(s.G, in[s.ID]) {
			t.Errorf("row %d: got %v, want %v", s.ID, s.G, in[s.ID])
		}
	}
}
