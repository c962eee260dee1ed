{{/*
The runner autoscaling query: the desired runner count, N * H, read by KEDA as an AverageValue
with threshold 1 (so desiredReplicas = ceil(N * H)). See the chart README, "Autoscaling on staleness".
  N = connected runners (at least 1)
  L = mean policy lag over the window (0 when nothing was trained: NaN is filtered out)
  T = staleness target (the parameter server's gauge, else run.stalenessTarget)
  H = T / max(L, lagFloor), the lag headroom
  B = learner busy fraction, rate of update seconds per second
  H > 1 and learner starved (B < busy threshold): grow, at most maxStepUp per step
  H <= 1 (lag at or above target): shrink proportionally
  otherwise (lag under target but the learner already saturated): hold at N
*/}}
{{- define "rlmesh.autoscaling.query" -}}
{{- $a := .Values.autoscaling }}
{{- if $a.query }}
{{- $a.query }}
{{- else }}
{{- $w := $a.window }}
{{- $lag := printf "((sum(rate(rlmesh_policy_lag_versions_sum[%s])) / sum(rate(rlmesh_policy_lag_versions_count[%s])) >= 0) or vector(0))" $w $w }}
{{- $target := printf "(max(rlmesh_staleness_target_versions) or vector(%v))" .Values.run.stalenessTarget }}
{{- $headroom := printf "(%s / clamp_min(%s, %v))" $target $lag $a.lagFloor }}
{{- $busy := printf "(sum(rate(rlmesh_learner_update_duration_seconds_sum[%s])) or vector(0))" $w }}
{{- printf "clamp_min(max(rlmesh_runners_connected), 1) * ((clamp_max(%s, %v) > 1 and on() (%s < %v)) or (%s <= 1) or vector(1))" $headroom $a.maxStepUp $busy $a.learnerBusyThreshold $headroom }}
{{- end }}
{{- end }}
