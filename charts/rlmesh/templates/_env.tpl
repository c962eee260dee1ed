{{/*
The one place that names the RLMESH_* environment of the services (12-factor configuration).
The services read RLMESH_<KEY> as configuration key <KEY>: "__" separates sections, a single "_" separates words
(RLMESH_HTTP_PORT = HttpPort, RLMESH_APS_TAU = ApsTau, RLMESH_RUNNER__ENVS = Runner:Envs); see ServiceDefaults.EnvironmentKey.
RLMESH_ROLE and RLMESH_POD_NAME are informational (the role is the container's argument; the runner id defaults to
the pod's host name); RLMESH_BROKER_USERNAME/_PASSWORD only compose RLMESH_BROKER.
Call with (dict "root" $ "component" "learner" "role" $roleEntry "values" $roleValues).
Credentials come only from Secrets; the broker URI is composed by Kubernetes from the env vars
before it ($(VAR) expansion), so no password is ever written into a manifest.
*/}}
{{- define "rlmesh.env" -}}
{{- $root := .root }}
- name: RLMESH_ROLE
  value: {{ .component | quote }}
- name: RLMESH_RUN
  value: {{ $root.Values.run.name | quote }}
- name: RLMESH_ENV
  value: {{ $root.Values.run.env | quote }}
- name: RLMESH_MODE
  value: {{ $root.Values.run.mode | quote }}
- name: RLMESH_ALGORITHM
  value: {{ $root.Values.run.algorithm | quote }}
- name: RLMESH_SYNC
  value: {{ $root.Values.run.sync | quote }}
- name: RLMESH_APS_TAU
  value: {{ $root.Values.run.apsTau | quote }}
- name: RLMESH_STALENESS_TARGET
  value: {{ $root.Values.run.stalenessTarget | quote }}
{{- with $root.Values.run.prometheusUrl }}
- name: RLMESH_PROMETHEUS_URL
  value: {{ . | quote }}
{{- end }}
- name: RLMESH_HTTP_PORT
  value: {{ $root.Values.httpPort | quote }}
- name: RLMESH_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- if .role.broker }}
- name: RLMESH_BROKER_USERNAME
  value: {{ include "rlmesh.rabbitmq.username" $root | quote }}
- name: RLMESH_BROKER_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "rlmesh.rabbitmq.secretName" $root }}
      key: {{ include "rlmesh.rabbitmq.passwordKey" $root }}
- name: RLMESH_BROKER
  value: {{ printf "%s://$(RLMESH_BROKER_USERNAME):$(RLMESH_BROKER_PASSWORD)@%s:%s/%s" (include "rlmesh.rabbitmq.scheme" $root) (include "rlmesh.rabbitmq.host" $root) (include "rlmesh.rabbitmq.port" $root) (include "rlmesh.rabbitmq.vhost" $root | urlquery) | quote }}
{{- end }}
{{- if .role.redis }}
- name: RLMESH_REDIS
  value: {{ printf "%s:%s" (include "rlmesh.redis.host" $root) (include "rlmesh.redis.port" $root) | quote }}
- name: RLMESH_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "rlmesh.redis.secretName" $root }}
      key: {{ include "rlmesh.redis.passwordKey" $root }}
{{- end }}
{{- if eq .component "env-runner" }}
- name: RLMESH_RUNNER__ENVS
  value: {{ .values.numEnvs | quote }}
{{- if include "rlmesh.centralInference" $root }}
- name: RLMESH_RUNNER__CONNECT
  value: {{ include "rlmesh.inferenceUrl" $root | quote }}
{{- end }}
{{- end }}
{{- if and (eq .component "replay") (eq $root.Values.run.algorithm "ppo") }}
{{- /* On-policy: one unroll per runner per batch. */}}
- name: RLMESH_REPLAY__BATCH_UNROLLS
  value: {{ $root.Values.runner.replicas | quote }}
{{- end }}
{{- if eq .component "learner" }}
- name: RLMESH_LEARNER__CHECKPOINT_DIR
  value: /var/lib/rlmesh/checkpoints
{{- if include "rlmesh.centralInference" $root }}
- name: RLMESH_LEARNER__INFERENCE_URL
  value: {{ printf "http://0.0.0.0:%v" .values.inference.port | quote }}
{{- end }}
{{- end }}
{{- if $root.Values.tracing.enabled }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "rlmesh-%s" .component | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.tracing.otlpEndpoint | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $root.Values.tracing.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $root.Values.tracing.sampler | quote }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $root.Values.tracing.samplerArg | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.namespace=rlmesh,rlmesh.run=%s,k8s.pod.name=$(RLMESH_POD_NAME)" $root.Values.run.name | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- with $root.Values.run.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
