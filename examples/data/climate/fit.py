"""fit.py --data regridded --out model: a quantile forest from coarse to fine temperature."""
import argparse, glob, os, pickle
import numpy as np
import xarray as xr
from sklearn.ensemble import RandomForestRegressor

p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--out")
a = p.parse_args()
ds = xr.open_mfdataset(sorted(glob.glob(f"{a.data}/*.nc")))
x = np.stack([ds.t2m_coarse.values.ravel(), ds.elevation.values.ravel()], axis=1)
y = ds.t2m.values.ravel()
model = RandomForestRegressor(n_estimators=200, min_samples_leaf=5).fit(x, y)
os.makedirs(a.out, exist_ok=True)
pickle.dump(model, open(os.path.join(a.out, "model.pkl"), "wb"))
