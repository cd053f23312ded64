"""regrid.py --year-index I --in raw --out regridded: one year of reanalysis onto the GRID."""
import argparse, glob, os
import numpy as np
import xarray as xr

p = argparse.ArgumentParser()
p.add_argument("--year-index", type=int); p.add_argument("--in", dest="src"); p.add_argument("--out")
a = p.parse_args()
step = float(os.environ.get("GRID", "0.25deg").removesuffix("deg"))
year = sorted(glob.glob(f"{a.src}/*.nc"))[a.year_index]
ds = xr.open_dataset(year)
lat = np.arange(ds.lat.min().item(), ds.lat.max().item() + step, step)
lon = np.arange(ds.lon.min().item(), ds.lon.max().item() + step, step)
os.makedirs(a.out, exist_ok=True)
ds.interp(lat=lat, lon=lon).to_netcdf(os.path.join(a.out, os.path.basename(year)))
