"""The runbook library: probes, evidence, verdict and rendering. No pytest import here."""
