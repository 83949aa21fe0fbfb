"""Inspections (issue 14): 风险+信用 classification, 双随机一公开 draws and 无感监管 data checks."""
