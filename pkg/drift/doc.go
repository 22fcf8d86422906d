// Package drift detects quality regressions in scored model calls. An Engine keeps, for every
// quality series (app, environment, feature, model, prompt_version and metric), a pinned baseline,
// tumbling event-time windows and online detectors; when the watermark closes a window it compares
// the window with the baseline and runs a Prometheus/Alertmanager-style alert state machine per
// signal, returning the transitions (and re-sends of firing alerts) as event.Alert values. The
// package is pure: no I/O, no goroutines, no clock, and the same records and watermarks always give
// the same alerts.
//
// # Signals
//
// A quality series has up to three signals, each with its own alert:
//
//   - "rate", the failure rate (1 - pass) of every score. Only an increase alerts.
//   - "value", the distribution of the values of scores of kind event.KindMeasure (finite values
//     within ±1e30; others are left out). Present when the baseline holds at least two values.
//   - "label", the mix of the labels of labelled scores (event.Score.Label: json_valid's
//     "syntax_error" or "code_fence", refusal families, finish reasons carried as labels), among
//     the observations that carry a label. Present when the baseline holds at least MinSamples
//     labelled observations.
//
// # Detectors and how they combine
//
// Each detector is documented, with its parameters, in its own file. Every window detector pairs a
// statistical test (significant when its p-value is below Alpha divided by the number of p-value
// tests of the series, Bonferroni) with an effect size that must reach a floor: a test alone flags
// negligible differences in large windows, a distance alone is noise in small ones. A signal's
// window is "true" when any of its detectors holds; the first that holds, in the order below, names
// the detector in the evidence (Evidence.Detector), with its statistic, threshold and p-value (0
// for the CUSUMs, which have none).
//
//   - rate: "two_proportion_z", the one-sided pooled two-proportion z-test (p < α; the window's
//     failure count must also have an exact binomial upper tail below α at the Wilson bound) with
//     the window rate at least MinRateEffect above the Wilson upper bound (BaselineZ) of the
//     baseline rate; or
//     "bernoulli_cusum", the online Bernoulli CUSUM having alarmed during this window or the current
//     alert episode, with the same effect floor.
//   - value: "welch_z", the Welch z-test of the mean (p < α) with |Δmean|/σ ≥ MinMeanEffect;
//     "cusum", the two-sided tabular CUSUM on standardised values having alarmed (in the direction
//     of the shift) with the same floor; "ks" (baselines of at most LargeBaseline values) or
//     "wasserstein" (larger ones): the two-sample KS test (p < α) with the Wasserstein distance at
//     least WassersteinThreshold baseline standard deviations; "psi": PSI on the baseline's frozen
//     quantile bins at least PSIThreshold with the chi-square test on the same bins (p < α).
//   - label: "chi_square" (baselines of at most LargeBaseline labelled observations) or
//     "jensen_shannon" (larger ones): the chi-square test of homogeneity with an unseen bucket
//     (p < α) and the Jensen–Shannon distance at least JSThreshold.
//
// An online detector's alarm (its statistic crossing its threshold, after which it restarts from
// zero) counts for the window whose observation raised it and stays in force while the evidence
// lasts: until the signal's alert is inactive again and a window is back on the baseline's side of
// the reference (rate: at or below the Wilson bound; value: no longer shifted in the alarm's
// direction), until a firing alert resolves, or until a baseline is pinned.
//
// # Gating
//
// A window with fewer than MinSamples observations of a signal is insufficient_data: it is counted
// (Stats.InsufficientData) and changes no alert counter. An alert moves inactive → pending (first
// true window) → firing (after PendingWindows further true windows) → resolved (after
// ResolveWindows consecutive false windows; a false window while pending resolves it at once, with
// Previous "pending"). A window may fire an alert only when it is firm: for value and label every
// true window is, for the rate a window is firm only when the Bernoulli CUSUM has alarmed, so that a
// rate alert fires only when the online detector and the window's effect agree.
//
// Why: with failure rates of 1–20% and windows of 150–400 events, a five-point floor lies within
// sampling noise, and every window of a series is compared with the same baseline, so an unluckily
// low baseline made consecutive windows significant together and fired alerts several times a day
// at scale. The engine therefore (1) measures the rate's effect floor and the Bernoulli CUSUM's
// in-control rate from the baseline's Wilson upper confidence bound, so windows are compared with
// the highest rate the baseline makes plausible rather than its point estimate; (2) fires a rate
// alert only when the Bernoulli CUSUM, whose false-alarm rate is set by its threshold, agrees with
// the window's effect; (3) pins baselines of 2000 observations and tests at Alpha = 1e-5 per series
// and window by default, so that pending transitions, which are published too, stay rare.
//
// Measured (TestFleetFalseFirings, TestFleetDetectionDelay): 1000 stable series × 64 windows
// (failure rates 1–20%, 150–400 events a window, normal and log-normal measures, labelled failures)
// fire no alert and raise four pending transitions. A baseline whose rate lies more than about
// three standard errors below the true rate (one series in a thousand) can still fire now and then
// on small windows at high rates; PinCurrent replaces it. A 1σ mean shift fires on its second
// window. A failure rate 10 points above its baseline fires within three windows in 90–100% of
// cases at base rates up to 5%, and up to 10% with 250 or more events a window; at a 20% base rate
// it does so in about 30%, 60% and 90% of cases with 150, 250 and 400 events a window, because
// three windows of 150 events hold too little evidence to tell a 10-point rise from noise without
// also firing on noise.
//
// TestDetectionTable and TestDetectionFalseAlarms measure the defaults on windows of 1000 events:
// one series runs 10^7 stable events (10 000 windows) without a firing or pending transition; a
// refusal rate rising from 2% to 6%, and a half-σ mean shift, fire at the second changed window
// for every seed, their online detectors alarming after about 430 and 125 events on average where
// the information bound ln(ARL)/KL at an average run length of 10^7 events is 603 and 129. The
// exact binomial check keeps the z-test honest when a window expects only a few failures.
//
// # Alerts
//
// Every transition increments the alert's Sequence; AlertID is "<fingerprint>-<sequence>", and the
// n-th re-send of a firing alert (every ResendWindows closed windows, insufficient ones included)
// is "<fingerprint>-<sequence>-r<n>". Ids depend only on the records and watermarks, so a replica
// replaying them, or restoring a Snapshot, emits the same ids. The fingerprint covers alertname,
// the series labels, metric and signal. Severity is "critical" when the naming detector's effect
// reaches three times its floor in any true window since the alert went pending, else "warning";
// it does not drop before the alert resolves, so a resolve travels the same route.
// Evidence.BaselineSource is "pinned" (an automatic baseline), "operator" or "inherited";
// Evidence.Baseline and Evidence.Current carry the failure rates (rate), means (value) or the shares
// of the label that moved most (label), with their sample sizes; ExampleEventIDs are failing events
// (rate), the events with the most extreme values in the direction of the shift (value), or events
// whose label the baseline never saw when such a label moved most, else the first event of each
// label whose share rose (label). The summary names the detector and lists the other statistics.
//
// # Baselines
//
// A series' first BaselineSize observations after WarmUp (in the order Observe sees them) are pinned
// and frozen as a Baseline (SourceAuto): counts, moments, a summary of a uniform sample of up to
// SampleSize values (QuantilePoints quantiles and frozen quantile bins with their counts; the sample
// itself is not kept), and label counts. A series that appears after another series of the same
// (app, environment, feature, metric) has pinned a baseline (a new prompt_version or model of the
// same feature) inherits the family's latest baseline at once and is evaluated against it from its
// first event, so a version change that degrades quality alerts as a regression naming both
// versions; it never pins its own, which would make a regression its own reference. An operator
// pins with PinBaseline (any Baseline value, e.g. one reloaded from storage) or PinCurrent
// (from the current windows); Baselines lists them all. Baselines are plain JSON-encodable values.
//
// # State and memory
//
// Snapshot and Restore move the complete state of a set of series between engines (a partition
// between replicas) without changing any later alert. Memory per quality series (series and metric)
// is bounded (BenchmarkMemoryPerSeries, BenchmarkSeries100k): about 2.5 KB for a check, its own
// baseline included (100 000 series in one engine: 2478 B a series, about 660 000 updates a second
// on two cores with the records shuffled across series); a measure adds its baseline's summary (512
// bytes of quantiles and the bin counts, shared by the series that inherit it) and, for the open
// window and the previous one kept for PinCurrent, the window's cells: its values counted between
// the baseline's quantiles and into its PSI bins, at most 296 bytes each at the default PSIBins
// however large the window (see QuantilePoints for the accuracy). A measure with its own baseline
// holds 3321 B with windows of 40 events (about 475 000 updates a second) and 3708 B with windows
// of 400 or 1500, the example event ids of its open window included (TestMeasureSeriesMemory
// keeps it under 4 KiB), labels included (at most MaxCategories per window). The previous window
// keeps its counts and cells but not its examples. Only a baseline under construction keeps values
// (a uniform sample of up to SampleSize), and it is freed when the baseline is pinned.
//
// # Silence
//
// Volume is a separate tracker for the event rate itself: per (app, environment, feature, stage) it
// counts records per window, learns the usual count (recent and by hour of day) and raises a
// "silence" alert, with the same lifecycle and ids as the quality alerts, when the count collapses
// or stops. A silent series sends nothing, so its windows are closed by the watermark passed to
// Advance, which its owner takes from a clock when no records arrive.
//
// # Telemetry
//
// Latency, time to first token, token counts and cost reach the engine as measures
// (scoring.AppendTelemetry) and are watched like any quality score: a prompt or model change that
// makes calls slower, longer or dearer raises a "value" alert (TestLatencyRegressionAlerts).
package drift
