//! The Esri File Geodatabase (`.gdb` folders), read and written natively, following
//! the format as publicly documented from reverse engineering (the "FGDB Spec" that
//! GDAL's OpenFileGDB driver follows).
//!
//! - `a00000001.gdbtable` is the catalog: table names by number; table `n` is in
//!   `aXXXXXXXX.gdbtable` (`n` in hexadecimal), its row offsets in `.gdbtablx`.
//! - A table is a header, field descriptions (the geometry field carries the WKT,
//!   the coordinate grid's origins and scales, the tolerances and the extent), then
//!   rows: null flags and values; geometries as varint-coded grid coordinates,
//!   then any curve segments (read as the model's curves; written densified).
//! - Layers are also described (XML) in `GDB_Items`, which ArcGIS reads; gp writes
//!   the system tables and items as ArcGIS and GDAL do.
//!
//! What is not written: spatial indexes (`.spx`: the format's index is a B-tree over
//! grid cells that cannot be written in one pass as rows stream; readers scan rows
//! without it, and ArcGIS builds it with "Add Spatial Index"), attribute indexes, and
//! 64-bit object id tables. Geodatabases whose system tables have attribute indexes
//! (ArcGIS writes them) are read, but gp does not add layers to them.

mod bytes;
mod gdb;
mod geom;
mod layer;
mod read;
mod rows;
mod sink;
mod system;
mod table;
mod write;

pub(crate) use gdb::{layer_name_from, layers, read, read_each};
pub(crate) use sink::{GdbSink, renames};
