"""Running a comparison: settings, planning cells, launching children, scheduling,
the resumable journal, progress and the machine's peak calibration. Imports no framework."""
