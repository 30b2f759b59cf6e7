// Package chinacrs converts between WGS 84 and the two obfuscated coordinate systems of Chinese
// web maps, GCJ-02 (AMap/Gaode, Tencent, Apple and Google in mainland China) and BD-09 (Baidu),
// and names the coordinate reference systems gridmap accepts (CRS). It imports only the
// standard library and orb, so the domain, the importers and the HTTP layer may all use it.
//
// # GCJ-02
//
// GCJ-02 is WGS 84 plus a smooth offset of up to about 700 m, applied only inside China. The
// forward formula (WGS84ToGCJ02) is the one published since 2008 in many open implementations
// and reproduced by all of them: an offset in metres, a polynomial plus sine series in
// x = lon − 105°, y = lat − 35°, turned into degrees with the Krasovsky 1940 ellipsoid
// (a = 6378245 m, e² = 0.00669342162296594323). This package's code is written afresh from
// that formula; the constants and the series are cross-checked against
//   - googollee/eviltransform (BSD 2-clause), whose test pairs are reference points here,
//   - wandergis/coordtransform (MIT), whose README example is a reference point here,
//   - Artoria2e5/PRCoords (CC0 public domain dedication), which describes the fixed-point
//     inverse (crediting it to caijun's geoChina) and the polygon idea for "in China",
//   - hujiulong/gcoord (MIT).
//
// No code was taken from any of them; the iteration is a textbook method.
//
// The real GCJ-02 adds pseudo-random noise of a few metres on top, which no inverse can undo;
// every public implementation, and Chinese providers' own conversion services, use the smooth
// formula alone, and so does WGS84ToGCJ02 (it reproduces the published pairs of eviltransform
// and coordtransform to 1e-6 m).
//
// GCJ02ToWGS84 inverts the offset by fixed-point iteration, w ← g − offset(w), starting at
// w = g. The offset's derivative is below 0.0064, so each step gains more than two digits: one
// step (what most libraries call gcj2wgs, and what Alibaba Cloud's documented TransferCoord
// answer is) leaves up to 4.2 m, three leave micrometres. It stops when a step moves less
// than 1e-10° (about 0.01 mm), after 3 to 5 steps, or after 10. The tests check the round trip
// WGS 84 → GCJ-02 → WGS 84 at every 0.25° over China (15,669 points): the largest error is
// 1.3e-6 m, at lon 105° where the offset has a square-root cusp; elsewhere it is smaller.
//
// # BD-09
//
// BD-09 is GCJ-02 turned into polar form and perturbed (radius + 2e-5·sin(lat·3000π/180),
// angle + 3e-6·cos(lon·3000π/180)), then shifted by (0.0065°, 0.006°), on top of GCJ-02. Like
// every public implementation, this package applies it everywhere, so outside China it sits
// on WGS 84. It reproduces Alibaba Cloud's documented BD09 answer to its 6 decimals and the
// published pairs of the sources above. The usual closed-form inverse
// evaluates the perturbation at the shifted point and is off by up to 0.21 m over China;
// BD09ToGCJ02 starts there and refines by fixed-point iteration to below 1e-10°.
//
// # Where GCJ-02 applies
//
// InChina decides. Most libraries test a rectangle (72°–138°E, 0.8°–56°N) that holds Mongolia,
// both Koreas, Japan's west, Taiwan and most of South-East Asia, and so shifts points that no
// Chinese map shifts. Here the test is a polygon (region_data.go, made by mkregion.sh): the
// outline of China, Hong Kong and Macao from Natural Earth 1:50m (public domain), buffered by
// 0.12° and simplified to about 470 vertices, plus a box round the Paracel Islands. Hong Kong
// and Macao are inside because AMap, Tencent and Baidu offset them; Taiwan, Kinmen and Matsu
// are outside because, as their users report, they do not. The polygon holds every point of
// China's outline with about 0.05° (5 km) to spare, and reaches at most about 0.18° (20 km) into a
// neighbour, so a town on the far side of a land border (Sinuiju, Blagoveshchensk, Muse,
// Móng Cái) counts as inside. The Spratly Islands and other far reefs count as outside.
//
// A GCJ-02 position near that outline may have two WGS 84 preimages (one shifted, one not) or
// none. GCJ02ToWGS84 prefers the shifted one when it lies inside the polygon, so that a
// position taken from a Chinese map comes back where it was; otherwise it returns the input.
//
// # CRS names
//
// Parse accepts short names (wgs84, gcj02, bd09, cgcs2000), EPSG codes (EPSG:4326, EPSG:4490 and
// the CGCS2000 3-degree Gauss–Krüger zones EPSG:4513–EPSG:4554) and the URIs of OGC API –
// Features Part 2 (http://www.opengis.net/def/crs/OGC/1.3/CRS84,
// http://www.opengis.net/def/crs/EPSG/0/4490, their URN and [safe CURIE] forms). Only WGS 84,
// GCJ-02 and BD-09 are converted here; CGCS2000 and its projected zones are converted by
// PostGIS (ST_Transform), and Projection and Convert answer ErrNeedsPostGIS for them.
//
// # Geometries
//
// The point conversions are orb.Projections; Convert applies one to any orb geometry in place
// (points, lines, rings, polygons, multi-geometries, collections) and turns a bound into one
// that still holds everything the original held. Coordinates are always longitude, latitude
// here; swapping axes for a CRS whose authority order is latitude first (AxisNorthEast) is the
// writer's business.
package chinacrs
