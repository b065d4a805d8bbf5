//! The system tables of a geodatabase: their fields, the fixed rows a new one
//! starts with (`system_rows.txt`), and the XML definition of a layer as ArcGIS
//! keeps it in `GDB_Items`.

use gp_model::AttrValue;

use super::geom::Grid;
use super::table::{FieldDef, GeomDef, TableDef, ft, gt};

/// Item type of a folder, a workspace, a feature class and a table.
pub(crate) const FOLDER: &str = "{F3783E6F-65CA-4514-8315-CE3985DAD3B1}";
pub(crate) const WORKSPACE: &str = "{C673FE0F-7280-404F-8532-20755DD8FC06}";
pub(crate) const FEATURE_CLASS: &str = "{70737809-852C-4A03-9E22-2CECEA5B9BFA}";
pub(crate) const TABLE: &str = "{CD06BC3B-789D-4C51-AAFA-A467912B8965}";
/// Relationship type "DatasetInFolder".
pub(crate) const DATASET_IN_FOLDER: &str = "{DC78F1AB-34E4-43AC-BA47-1C4EABD0E7C7}";

/// The system tables, by number, and the catalog's rows for them.
pub(crate) const CATALOG: [(&str, i64); 8] = [
    ("GDB_SystemCatalog", 0),
    ("GDB_DBTune", 0),
    ("GDB_SpatialRefs", 0),
    ("GDB_Items", 0),
    ("GDB_ItemTypes", 0),
    ("GDB_ItemRelationships", 0),
    ("GDB_ItemRelationshipTypes", 0),
    ("GDB_ReplicaLog", 2),
];

/// Esri's WKT of WGS 84, the spatial reference of `GDB_Items`' shapes.
const WGS84_ESRI: &str = "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

fn table(flags: u32, fields: &[(&str, u8, u32, bool)]) -> TableDef {
    TableDef {
        flags,
        fields: fields
            .iter()
            .map(|(n, t, w, null)| FieldDef::new(n, *t, *w, *null))
            .collect(),
    }
}

/// The fields of system table `n` (1 to 7).
pub(crate) fn def(n: usize) -> TableDef {
    let oid = |name| (name, ft::OID, 4, false);
    match n {
        1 => table(
            0x100,
            &[
                oid("ID"),
                ("Name", ft::STR, 160, false),
                ("FileFormat", ft::I32, 4, false),
            ],
        ),
        2 => table(
            0x100,
            &[
                ("Keyword", ft::STR, 32, false),
                ("ParameterName", ft::STR, 32, false),
                ("ConfigString", ft::STR, 2048, true),
            ],
        ),
        3 => {
            let mut f = vec![oid("ID"), ("SRTEXT", ft::STR, 2048, false)];
            for n in [
                "FalseX",
                "FalseY",
                "XYUnits",
                "FalseZ",
                "ZUnits",
                "FalseM",
                "MUnits",
                "XYTolerance",
                "ZTolerance",
                "MTolerance",
            ] {
                f.push((n, ft::F64, 8, true));
            }
            table(0x100, &f)
        }
        4 => {
            let mut t = table(
                0x300 | gt::POLYGON,
                &[
                    oid("ObjectID"),
                    ("UUID", ft::GLOBALID, 38, false),
                    ("Type", ft::GUID, 38, false),
                    ("Name", ft::STR, 160, true),
                    ("PhysicalName", ft::STR, 160, true),
                    ("Path", ft::STR, 260, true),
                    ("DatasetSubtype1", ft::I32, 4, true),
                    ("DatasetSubtype2", ft::I32, 4, true),
                    ("DatasetInfo1", ft::STR, 255, true),
                    ("DatasetInfo2", ft::STR, 255, true),
                    ("URL", ft::STR, 255, true),
                    ("Definition", ft::XML, 0, true),
                    ("Documentation", ft::XML, 0, true),
                    ("ItemInfo", ft::XML, 0, true),
                    ("Properties", ft::I32, 4, true),
                    ("Defaults", ft::BIN, 0, true),
                ],
            );
            let mut shape = FieldDef::new("Shape", ft::GEOM, 0, true);
            shape.flag = 7;
            shape.geom = Some(GeomDef {
                wkt: WGS84_ESRI.into(),
                grid: Grid {
                    x0: -180.0,
                    y0: -90.0,
                    xy: 1_000_000.0,
                    ..Grid::default_for(false)
                },
                tol: [0.000_002, 0.001, 0.001],
                extent: [f64::NAN; 4],
                grids: vec![0.012, 0.4, 12.0],
            });
            t.fields.push(shape);
            t
        }
        5 => table(
            0x100,
            &[
                oid("ObjectID"),
                ("UUID", ft::GUID, 38, false),
                ("ParentTypeID", ft::GUID, 38, false),
                ("Name", ft::STR, 160, false),
            ],
        ),
        6 => table(
            0x100,
            &[
                oid("ObjectID"),
                ("UUID", ft::GLOBALID, 38, false),
                ("OriginID", ft::GUID, 38, false),
                ("DestID", ft::GUID, 38, false),
                ("Type", ft::GUID, 38, false),
                ("Attributes", ft::XML, 0, true),
                ("Properties", ft::I32, 4, true),
            ],
        ),
        _ => table(
            0x100,
            &[
                oid("ObjectID"),
                ("UUID", ft::GUID, 38, false),
                ("OrigItemTypeID", ft::GUID, 38, false),
                ("DestItemTypeID", ft::GUID, 38, false),
                ("Name", ft::STR, 160, true),
                ("ForwardLabel", ft::STR, 255, true),
                ("BackwardLabel", ft::STR, 255, true),
                ("IsContainment", ft::I16, 2, true),
            ],
        ),
    }
}

/// The fixed rows of system table `n` (2, 5 or 7), as values in field order (the
/// object id's slot included, null).
pub(crate) fn fixed_rows(n: usize) -> Vec<Vec<AttrValue>> {
    let name = match n {
        2 => "GDB_DBTune",
        5 => "GDB_ItemTypes",
        7 => "GDB_ItemRelationshipTypes",
        _ => return Vec::new(),
    };
    let def = def(n);
    let mut inside = false;
    let mut rows = Vec::new();
    for line in include_str!("system_rows.txt").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(t) = line.strip_prefix('[') {
            inside = t.trim_end_matches(']') == name;
            continue;
        }
        if !inside {
            continue;
        }
        let mut cells = line.split('|');
        let row = def
            .fields
            .iter()
            .map(|f| match f.ftype {
                ft::OID => AttrValue::Null,
                ft::I16 | ft::I32 => cells
                    .next()
                    .and_then(|c| c.parse().ok())
                    .map_or(AttrValue::Null, AttrValue::Int),
                _ => cells
                    .next()
                    .filter(|c| !c.is_empty())
                    .map_or(AttrValue::Null, |c| AttrValue::String(c.to_string())),
            })
            .collect();
        rows.push(row);
    }
    rows
}

/// Escapes text for XML.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

const NS: &str = "xmlns:typens=\"http://www.esri.com/schemas/ArcGIS/10.3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"";

/// The root workspace's definition.
pub(crate) fn workspace_xml() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DEWorkspace {NS} xsi:type=\"typens:DEWorkspace\">\n  <CatalogPath>\\</CatalogPath>\n  <Name/>\n  <ChildrenExpanded>false</ChildrenExpanded>\n  <WorkspaceType>esriLocalDatabaseWorkspace</WorkspaceType>\n  <WorkspaceFactoryProgID/>\n  <ConnectionString/>\n  <ConnectionInfo xsi:nil=\"true\"/>\n  <Domains xsi:type=\"typens:ArrayOfDomain\"/>\n  <MajorVersion>3</MajorVersion>\n  <MinorVersion>0</MinorVersion>\n  <BugfixVersion>0</BugfixVersion>\n</DEWorkspace>\n"
    )
}

fn type_name(t: u8) -> &'static str {
    match t {
        ft::I16 => "esriFieldTypeSmallInteger",
        ft::I32 => "esriFieldTypeInteger",
        ft::I64 => "esriFieldTypeBigInteger",
        ft::F32 => "esriFieldTypeSingle",
        ft::F64 => "esriFieldTypeDouble",
        ft::DATE => "esriFieldTypeDate",
        ft::OID => "esriFieldTypeOID",
        ft::GEOM => "esriFieldTypeGeometry",
        ft::BIN => "esriFieldTypeBlob",
        ft::GUID => "esriFieldTypeGUID",
        ft::GLOBALID => "esriFieldTypeGlobalID",
        ft::XML => "esriFieldTypeXML",
        _ => "esriFieldTypeString",
    }
}

/// A layer's definition (`DEFeatureClassInfo`, or `DETableInfo` without geometry),
/// as ArcGIS reads it from `GDB_Items`.
pub(crate) fn layer_xml(name: &str, dsid: u64, def: &TableDef, wkid: Option<i32>) -> String {
    let mut s = String::new();
    let feature = def.geometry_type() != gt::NONE;
    let (kind, dtype) = if feature {
        ("DEFeatureClassInfo", "esriDTFeatureClass")
    } else {
        ("DETableInfo", "esriDTTable")
    };
    let n = xml_escape(name);
    let oid = def
        .fields
        .iter()
        .find(|f| f.ftype == ft::OID)
        .map_or("OBJECTID", |f| f.name.as_str());
    s.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<typens:{kind} {NS} xsi:type=\"typens:{kind}\">\n  <CatalogPath>\\{n}</CatalogPath>\n  <Name>{n}</Name>\n  <ChildrenExpanded>false</ChildrenExpanded>\n  <DatasetType>{dtype}</DatasetType>\n  <DSID>{dsid}</DSID>\n  <Versioned>false</Versioned>\n  <CanVersion>false</CanVersion>\n  <HasOID>true</HasOID>\n  <OIDFieldName>{}</OIDFieldName>\n  <GPFieldInfoExs xsi:type=\"typens:ArrayOfGPFieldInfoEx\">\n",
        xml_escape(oid)
    ));
    for f in &def.fields {
        let len = match f.ftype {
            ft::OID => 12,
            ft::GEOM | ft::XML | ft::BIN => 0,
            ft::GUID | ft::GLOBALID => 38,
            _ => f.width,
        };
        let required = matches!(f.ftype, ft::OID | ft::GEOM);
        s.push_str(&format!(
            "    <GPFieldInfoEx xsi:type=\"typens:GPFieldInfoEx\">\n      <Name>{}</Name>\n      <FieldType>{}</FieldType>\n      <IsNullable>{}</IsNullable>\n      <Length>{len}</Length>\n      <Precision>0</Precision>\n      <Scale>0</Scale>\n{}    </GPFieldInfoEx>\n",
            xml_escape(&f.name),
            type_name(f.ftype),
            f.nullable() || f.ftype == ft::GEOM,
            if required { "      <Required>true</Required>\n" } else { "" }
        ));
    }
    s.push_str("  </GPFieldInfoExs>\n");
    if !feature {
        s.push_str("  <CLSID>{7A566981-C114-11D2-8A28-006097AFF44E}</CLSID>\n  <EXTCLSID></EXTCLSID>\n  <IsTimeInUTC>true</IsTimeInUTC>\n</typens:DETableInfo>\n");
        return s;
    }
    let shape = match def.geometry_type() {
        gt::POINT => "esriGeometryPoint",
        gt::MULTIPOINT => "esriGeometryMultipoint",
        gt::POLYLINE => "esriGeometryPolyline",
        _ => "esriGeometryPolygon",
    };
    let g = def.geom();
    let geo = g.is_some_and(|g| g.wkt.starts_with("GEOGCS"));
    let sr_type = match g {
        Some(g) if g.wkt.is_empty() => "UnknownCoordinateSystem",
        _ if geo => "GeographicCoordinateSystem",
        _ => "ProjectedCoordinateSystem",
    };
    s.push_str(&format!(
        "  <CLSID>{{52353152-891A-11D0-BEC6-00805F7C4268}}</CLSID>\n  <EXTCLSID></EXTCLSID>\n  <IsTimeInUTC>true</IsTimeInUTC>\n  <FeatureType>esriFTSimple</FeatureType>\n  <ShapeType>{shape}</ShapeType>\n  <ShapeFieldName>SHAPE</ShapeFieldName>\n  <HasM>{}</HasM>\n  <HasZ>{}</HasZ>\n  <HasSpatialIndex>false</HasSpatialIndex>\n  <AreaFieldName></AreaFieldName>\n  <LengthFieldName></LengthFieldName>\n  <Extent xsi:nil=\"true\"></Extent>\n  <SpatialReference xsi:type=\"typens:{sr_type}\">\n",
        def.has_m(),
        def.has_z()
    ));
    if let Some(g) = g {
        if !g.wkt.is_empty() {
            s.push_str(&format!("    <WKT>{}</WKT>\n", xml_escape(&g.wkt)));
        }
        let gr = &g.grid;
        for (k, v) in [
            ("XOrigin", gr.x0),
            ("YOrigin", gr.y0),
            ("XYScale", gr.xy),
            ("ZOrigin", gr.z0),
            ("ZScale", gr.z),
            ("MOrigin", gr.m0),
            ("MScale", gr.m),
            ("XYTolerance", g.tol[0]),
            ("ZTolerance", g.tol[1]),
            ("MTolerance", g.tol[2]),
        ] {
            s.push_str(&format!("    <{k}>{v}</{k}>\n"));
        }
        s.push_str("    <HighPrecision>true</HighPrecision>\n");
        if let Some(w) = wkid {
            s.push_str(&format!("    <WKID>{w}</WKID>\n"));
        }
    }
    s.push_str("  </SpatialReference>\n</typens:DEFeatureClassInfo>\n");
    s
}

/// The `<WKID>` (or `<LatestWKID>`) of a layer's definition.
pub(crate) fn wkid_of(xml: &str) -> Option<i32> {
    for key in ["<WKID>", "<LatestWKID>"] {
        if let Some(i) = xml.find(key) {
            let rest = &xml[i + key.len()..];
            if let Some(v) = rest.split('<').next().and_then(|v| v.trim().parse().ok()) {
                return Some(v);
            }
        }
    }
    None
}
