// Package pgxgeo teaches pgx the PostGIS geometry type: orb geometries go to the database as
// EWKB with SRID 4326 and geometry columns scan into orb types. It is the one gridmap package
// that ties geometry to the database driver, so that geo, and the domain above it, need
// nothing but orb and the standard library (the layout of twpayne/pgx-geom).
package pgxgeo

import (
	"context"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"

	"gridmap/geo"
)

// Register teaches a connection the PostGIS geometry type: orb geometries are sent as
// EWKB with SRID 4326 and geometry columns scan into orb.Geometry (or a concrete orb type).
// Use it as the pool's AfterConnect. It fails when PostGIS is not installed in the database.
func Register(ctx context.Context, conn *pgx.Conn) error {
	var oid uint32
	err := conn.QueryRow(ctx, "SELECT 'geometry'::regtype::oid").Scan(&oid)
	if err != nil {
		return fmt.Errorf("pgxgeo: PostGIS geometry type not found (CREATE EXTENSION postgis): %w", err)
	}
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "geometry", OID: oid, Codec: Codec{}})
	arr, err := conn.LoadType(ctx, "_geometry")
	if err != nil {
		return fmt.Errorf("pgxgeo: geometry[]: %w", err)
	}
	conn.TypeMap().RegisterType(arr)
	// Simple-protocol queries (DATABASE_URL with default_query_exec_mode=simple_protocol, as
	// behind PgBouncer) send parameters untyped: pgx then finds the codec by the Go type.
	for _, v := range []any{orb.Point{}, orb.MultiPoint{}, orb.LineString{}, orb.MultiLineString{},
		orb.Polygon{}, orb.MultiPolygon{}, orb.Collection{}} {
		conn.TypeMap().RegisterDefaultPgType(v, "geometry")
	}
	conn.TypeMap().RegisterDefaultPgType([]orb.Geometry(nil), "_geometry")
	return nil
}

// Codec is the pgx codec for PostGIS geometry. Binary format is EWKB; the text format is
// hex EWKB, which is what PostGIS prints.
type Codec struct{}

var _ pgtype.Codec = Codec{}

// FormatSupported reports both binary and text formats.
func (Codec) FormatSupported(format int16) bool {
	return format == pgtype.BinaryFormatCode || format == pgtype.TextFormatCode
}

// PreferredFormat is binary: EWKB needs no parsing of text.
func (Codec) PreferredFormat() int16 { return pgtype.BinaryFormatCode }

// PlanEncode encodes orb geometries (with SRID 4326) and raw EWKB bytes.
func (Codec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	switch value.(type) {
	case orb.Geometry:
		if format == pgtype.BinaryFormatCode {
			return encodeGeometry{}
		}
		return encodeGeometryHex{}
	case []byte:
		if format == pgtype.BinaryFormatCode {
			return encodeBytes{}
		}
	}
	return nil
}

type encodeGeometry struct{}

func (encodeGeometry) Encode(value any, buf []byte) ([]byte, error) {
	b, err := ewkb.Marshal(value.(orb.Geometry), geo.SRID)
	if err != nil {
		return nil, fmt.Errorf("pgxgeo: encode %T: %w", value, err)
	}
	return append(buf, b...), nil
}

type encodeGeometryHex struct{}

func (encodeGeometryHex) Encode(value any, buf []byte) ([]byte, error) {
	b, err := ewkb.Marshal(value.(orb.Geometry), geo.SRID)
	if err != nil {
		return nil, fmt.Errorf("pgxgeo: encode %T: %w", value, err)
	}
	return append(buf, hex.EncodeToString(b)...), nil
}

type encodeBytes struct{}

func (encodeBytes) Encode(value any, buf []byte) ([]byte, error) {
	return append(buf, value.([]byte)...), nil
}

// PlanScan scans into *orb.Geometry, the concrete orb types and *[]byte (raw EWKB).
func (Codec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	switch target.(type) {
	case *orb.Geometry, *orb.Point, *orb.MultiPoint, *orb.LineString, *orb.MultiLineString,
		*orb.Polygon, *orb.MultiPolygon, *orb.Collection:
		return scanGeometry{format: format}
	case *[]byte:
		return scanBytes{format: format}
	}
	return nil
}

type scanGeometry struct{ format int16 }

func (s scanGeometry) Scan(src []byte, target any) error {
	if src == nil {
		return errors.New("pgxgeo: cannot scan NULL geometry; select it as COALESCE or scan into a pointer")
	}
	g, err := decode(s.format, src)
	if err != nil {
		return err
	}
	return assign(g, target)
}

type scanBytes struct{ format int16 }

func (s scanBytes) Scan(src []byte, target any) error {
	p := target.(*[]byte)
	if src == nil {
		*p = nil
		return nil
	}
	if s.format == pgtype.TextFormatCode {
		b, err := hex.DecodeString(string(src))
		if err != nil {
			return fmt.Errorf("pgxgeo: bad hex EWKB: %w", err)
		}
		*p = b
		return nil
	}
	*p = append((*p)[:0], src...)
	return nil
}

func decode(format int16, src []byte) (orb.Geometry, error) {
	if format == pgtype.TextFormatCode {
		b, err := hex.DecodeString(string(src))
		if err != nil {
			return nil, fmt.Errorf("pgxgeo: bad hex EWKB: %w", err)
		}
		src = b
	}
	g, _, err := ewkb.Unmarshal(src)
	if err != nil {
		return nil, fmt.Errorf("pgxgeo: decode EWKB: %w", err)
	}
	return g, nil
}

func assign(g orb.Geometry, target any) error {
	ok := true
	switch t := target.(type) {
	case *orb.Geometry:
		*t = g
	case *orb.Point:
		*t, ok = g.(orb.Point)
	case *orb.MultiPoint:
		*t, ok = g.(orb.MultiPoint)
	case *orb.LineString:
		*t, ok = g.(orb.LineString)
	case *orb.MultiLineString:
		*t, ok = g.(orb.MultiLineString)
	case *orb.Polygon:
		*t, ok = g.(orb.Polygon)
	case *orb.MultiPolygon:
		switch v := g.(type) {
		case orb.MultiPolygon:
			*t = v
		case orb.Polygon:
			*t = orb.MultiPolygon{v}
		default:
			ok = false
		}
	case *orb.Collection:
		*t, ok = g.(orb.Collection)
	}
	if !ok {
		return fmt.Errorf("pgxgeo: cannot scan %s into %T", g.GeoJSONType(), target)
	}
	return nil
}

// DecodeDatabaseSQLValue returns the raw EWKB.
func (Codec) DecodeDatabaseSQLValue(m *pgtype.Map, oid uint32, format int16, src []byte) (driver.Value, error) {
	if src == nil {
		return nil, nil
	}
	g, err := decode(format, src)
	if err != nil {
		return nil, err
	}
	return ewkb.Marshal(g, geo.SRID)
}

// DecodeValue returns the orb.Geometry.
func (Codec) DecodeValue(m *pgtype.Map, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	return decode(format, src)
}
