-- Conform (grid/postgis/conform.go) and the coverage report measure the pieces of an overlay
-- the way the overlay computed them.

-- The area of g in m²: its planar area in degrees, scaled at the latitude of its centroid by
-- the WGS 84 ellipsoid's metres per degree of latitude (M) and of longitude (N cos φ). Edges
-- are straight lines in longitude and latitude (GeoJSON, RFC 7946; PostGIS geometry), and the
-- overlays that cut gaps, overlaps and slivers are planar. Read as geography, a piece whose
-- vertices are collinear in degrees gains area it does not have: a 1.2 km edge at 25°N bows
-- 1.3 cm from the geodesic between its ends, so a junction vertex that a neighbour adds to it
-- made an 8 m² "piece outside its parent" of zero area. Centroid latitude makes the error
-- second order in the piece's extent (10⁻⁵ for 20 km).
CREATE FUNCTION gridmap_area_m2(g geometry) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(ST_Area(g) * (pi() / 180) ^ 2 * 6378137.0 ^ 2 * (1 - 0.00669437999014)
           * cos(radians(ST_Y(ST_Centroid(g)))) / (1 - 0.00669437999014 * sin(radians(ST_Y(ST_Centroid(g)))) ^ 2) ^ 2, 0)
$$;

-- The coverage tiles measure gaps and overlaps as the coverage report does.
CREATE OR REPLACE FUNCTION tile_refresh_coverage(parents bigint[], changed bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    -- grids whose flags may change: the parents, the changed grids and their old partners...
    SELECT coalesce(array_agg(DISTINCT x), '{}') INTO touched FROM (
        SELECT unnest(parents) AS x
        UNION ALL SELECT unnest(changed)
        UNION ALL SELECT unnest(grid_ids) FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed
    ) t WHERE x IS NOT NULL;

    DELETE FROM tile_coverage WHERE kind = 'gap'
        AND (parent_id = ANY(parents) OR (parent_id IS NULL AND array_position(parents, NULL) IS NOT NULL));
    -- each parent's children through the parent_id index (an OR with the city's case made it
    -- a scan of all grids per parent)
    INSERT INTO tile_coverage (kind, level, parent_id, grid_ids, area_m2, geom_3857)
    SELECT 'gap', p.level + 1, p.id, '{}', gridmap_area_m2(d.geom), ST_Transform(d.geom, 3857)
    FROM (
        SELECT g.id, g.level, g.geom,
               (SELECT ST_Union(ch.geom) FROM grids ch WHERE ch.parent_id = g.id AND ch.valid_to IS NULL) AS kids
        FROM grids g WHERE g.id = ANY(parents) AND g.valid_to IS NULL AND g.level < 3
        UNION ALL
        SELECT NULL, 0, c.boundary,
               (SELECT ST_Union(ch.geom) FROM grids ch WHERE ch.level = 1 AND ch.valid_to IS NULL)
        FROM city c WHERE c.boundary IS NOT NULL AND array_position(parents, NULL) IS NOT NULL
    ) p
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_MakeValid(
        ST_Difference(p.geom, coalesce(p.kids, 'SRID=4326;POLYGON EMPTY'::geometry))), 3)) d
    WHERE gridmap_area_m2(d.geom) >= 1;

    DELETE FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed;
    -- each changed grid's neighbours through the GiST index (OFFSET 0 keeps the planner from
    -- turning it into a join over all grids of the level)
    INSERT INTO tile_coverage (kind, level, parent_id, grid_ids, area_m2, geom_3857)
    SELECT 'overlap', a.level, NULL, ARRAY[least(a.id, b.id), greatest(a.id, b.id)],
           gridmap_area_m2(d.geom), ST_Transform(d.geom, 3857)
    FROM grids a
    CROSS JOIN LATERAL (
        SELECT o.id, o.geom FROM grids o
        WHERE o.geom && a.geom AND o.level = a.level AND o.id <> a.id AND o.valid_to IS NULL
          -- a pair of two changed grids is computed once
          AND (NOT o.id = ANY(changed) OR a.id < o.id)
          AND ST_Relate(a.geom, o.geom, '2********')
        OFFSET 0) b
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d
    WHERE a.id = ANY(changed) AND a.valid_to IS NULL AND gridmap_area_m2(d.geom) >= 1;

    -- and the new partners
    SELECT touched || coalesce(array_agg(x), '{}') INTO touched FROM (
        SELECT unnest(grid_ids) AS x FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed
    ) t;
    UPDATE tile_grids s SET
        gap = EXISTS (SELECT 1 FROM tile_coverage c WHERE c.kind = 'gap' AND c.parent_id = s.grid_id),
        overlap = EXISTS (SELECT 1 FROM tile_coverage c WHERE c.kind = 'overlap' AND c.grid_ids @> ARRAY[s.grid_id])
    WHERE s.grid_id = ANY(touched);
END $$;

-- A reshaped grid re-derives only the buildings in the area that changed hands: the symmetric
-- difference of its old and new geometry, where alone its holding a point can change (a
-- retired or revived grid: everything under it, as before). The buildings under the whole of
-- every changed grid were derived again by box: conforming Taipei's villages re-derived 10,851
-- buildings for the 469 that changed village (2–4 s of the edit's 4.4 s); a paint's grids
-- change near the moved buildings only. Points are tested against the areas, not their boxes,
-- since a clipped strip along a district boundary has the district's box.
CREATE OR REPLACE FUNCTION buildings_rederive(areas geometry[]) RETURNS void LANGUAGE sql AS $$
    UPDATE buildings b SET grid_id = x.g
    FROM (
        SELECT DISTINCT b2.id, gridmap_grid_at(b2.anchor) AS g
        FROM unnest(areas) AS a(geom)
        JOIN buildings b2 ON b2.anchor && a.geom AND ST_Intersects(a.geom, b2.anchor)
    ) x
    WHERE b.id = x.id AND b.grid_id IS DISTINCT FROM x.g
$$;

-- The area between two geometries of a grid; should the overlay fail, both geometries (all
-- the area that may have changed).
CREATE FUNCTION gridmap_changed_areas(a geometry, b geometry) RETURNS SETOF geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN NEXT ST_SymDifference(a, b);
EXCEPTION WHEN OTHERS THEN
    RETURN NEXT a;
    RETURN NEXT b;
END $$;

CREATE OR REPLACE FUNCTION grids_rederive_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM buildings_rederive(array_agg(g)) FROM (
        SELECT unnest(ARRAY[o.geom, n.geom]) AS g FROM old_grids o JOIN new_grids n USING (id)
        WHERE o.valid_to IS DISTINCT FROM n.valid_to
        UNION ALL
        SELECT c FROM old_grids o JOIN new_grids n USING (id)
        CROSS JOIN LATERAL gridmap_changed_areas(o.geom, n.geom) c
        WHERE o.valid_to IS NOT DISTINCT FROM n.valid_to AND NOT ST_OrderingEquals(o.geom, n.geom)
    ) x;
    RETURN NULL;
END $$;
