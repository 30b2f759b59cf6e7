"""Has QGIS draw gridmap: the vector tile layer styled from /style.json (styleUrl) and the OGC
API – Features collections, rendered headless to a PNG. Run by qgis_test.go with
/usr/bin/python3 (Debian's python3-qgis) and QT_QPA_PLATFORM=offscreen.

Usage: qgis_render.py BASE_URL OUT.png MINLON MINLAT MAXLON MAXLAT
Prints one JSON object: what QGIS loaded (layers valid, features per collection, the style's
conversion warnings) for the test to check; the picture goes to OUT.png.
"""
import json
import os
import sys
import urllib.request

from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsCoordinateTransform,
                       QgsDataSourceUri, QgsFillSymbol, QgsMapBoxGlStyleConversionContext,
                       QgsMapBoxGlStyleConverter, QgsMapRendererSequentialJob, QgsMapSettings,
                       QgsProject, QgsRectangle, QgsVectorLayer, QgsVectorTileLayer)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

base, out = sys.argv[1], sys.argv[2]
minlon, minlat, maxlon, maxlat = map(float, sys.argv[3:7])

app = QgsApplication([], False)
app.initQgis()
report = {}

# the vector tiles, styled by the server's MapLibre style
uri = QgsDataSourceUri()
uri.setParam('type', 'xyz')
uri.setParam('url', base + '/tiles/{z}/{x}/{y}.mvt')
uri.setParam('zmin', '0')
uri.setParam('zmax', '16')
uri.setParam('styleUrl', base + '/style.json')
tiles = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), 'gridmap')
report['tiles_valid'] = tiles.isValid()
message, ok = tiles.loadDefaultStyle()  # reads styleUrl
report['style_loaded'] = ok
report['style_message'] = message
report['style_rules'] = len(tiles.renderer().styles()) if tiles.renderer() else 0
# what QGIS's converter leaves out of the style (expressions it lacks), for the test's log
converter = QgsMapBoxGlStyleConverter()
with urllib.request.urlopen(base + '/style.json') as r:
    converter.convert(json.load(r), QgsMapBoxGlStyleConversionContext())
report['style_warnings'] = converter.warnings()

# the OGC API – Features collections, as QGIS's "Add WFS / OGC API – Features layer" does
report['collections'] = {}
ogc = []
for name in ['grids_level1', 'grids_level2', 'grids_level3', 'buildings']:
    lyr = QgsVectorLayer(f"url='{base}/ogc' typename='{name}'", name, 'OAPIF')
    n = sum(1 for _ in lyr.getFeatures()) if lyr.isValid() else -1
    report['collections'][name] = {'valid': lyr.isValid(), 'features': n, 'crs': lyr.crs().authid()}
    ogc.append(lyr)
# drawn under the tiles as a plain ground (the style's background colour, no outline), so the
# outlines in the picture are the style's
ground = ogc[0]
ground.setRenderer(ground.renderer().clone())
ground.renderer().setSymbol(QgsFillSymbol.createSimple({'color': '#eef0f2', 'outline_style': 'no'}))

merc = QgsCoordinateReferenceSystem('EPSG:3857')
wgs = QgsCoordinateReferenceSystem('EPSG:4326')
extent = QgsCoordinateTransform(wgs, merc, QgsProject.instance()).transformBoundingBox(
    QgsRectangle(minlon, minlat, maxlon, maxlat))
settings = QgsMapSettings()
settings.setLayers([tiles, ground])  # first on top
settings.setDestinationCrs(merc)
settings.setExtent(extent)
settings.setOutputSize(QSize(1024, 1024))
settings.setBackgroundColor(QColor('#ffffff'))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
img = job.renderedImage()
report['saved'] = img.save(out, 'PNG')
report['scale'] = settings.scale()
report['render_errors'] = [e.message for e in job.errors()]
print(json.dumps(report))
sys.stdout.flush()
# exitQgis crashes in some QGIS releases while tearing down the providers: the work is done
os._exit(0)
