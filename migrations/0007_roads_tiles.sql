-- Roads in the vector tiles (layer roads, tiles/tile.sql): like the footprints, a Web-Mercator
-- copy and its size are stored with each line, written by a BEFORE trigger when the line is (or
-- by the bulk path of the road import, under gridmap.bulk), so a tile neither transforms every
-- line nor measures it to leave out those under a pixel.
ALTER TABLE roads ADD COLUMN geom_3857 geometry(MultiLineString, 3857);
ALTER TABLE roads ADD COLUMN size_3857 double precision;
UPDATE roads SET geom_3857 = ST_Transform(geom, 3857), size_3857 = tile_size(ST_Transform(geom, 3857));
CREATE INDEX roads_geom_3857 ON roads USING gist (geom_3857);

CREATE FUNCTION roads_tile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom_3857 := ST_Transform(NEW.geom, 3857);
    NEW.size_3857 := tile_size(NEW.geom_3857);
    RETURN NEW;
END $$;
CREATE TRIGGER roads_tile BEFORE INSERT OR UPDATE OF geom ON roads
    FOR EACH ROW WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION roads_tile();
