{{/* Chart name, truncated to a DNS label. */}}
{{- define "rlmesh.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name: the release name, or release-chart when the release does not contain the chart name. */}}
{{- define "rlmesh.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rlmesh.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. Call with (dict "root" $ "component" "env-runner"). */}}
{{- define "rlmesh.labels" -}}
helm.sh/chart: {{ include "rlmesh.chart" .root }}
{{ include "rlmesh.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: rlmesh
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels: name, instance and component. */}}
{{- define "rlmesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rlmesh.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "rlmesh.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rlmesh.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The RLMesh image reference: digest wins over tag; the tag defaults to the appVersion. */}}
{{- define "rlmesh.image" -}}
{{- include "rlmesh.refuseLatest" (dict "tag" .Values.image.tag "what" "image.tag") }}
{{- include "rlmesh.refuseLatest" (dict "tag" .Values.rabbitmq.image.tag "what" "rabbitmq.image.tag") }}
{{- include "rlmesh.refuseLatest" (dict "tag" .Values.redis.image.tag "what" "redis.image.tag") }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The roles: component name, values key, and which backing servers each one talks to.
This table drives the Deployments, Services, env (broker/redis credentials) and NetworkPolicies:
a role gets credentials and egress only for the servers listed here. In mode central-inference runners
hold no model and dial the learner's inference port instead of publishing unrolls, the learner forms its
batches itself, so neither needs the broker, and there is no replay role.
*/}}
{{- define "rlmesh.roles" -}}
{{- $central := include "rlmesh.centralInference" . }}
env-runner: {key: runner, broker: {{ not $central }}, redis: true}
{{- if not $central }}
replay: {key: replay, broker: true, redis: false}
{{- end }}
learner: {key: learner, broker: {{ not $central }}, redis: true}
parameter-server: {key: parameterServer, broker: true, redis: true}
{{- end }}

{{/* The RLMesh components this mode runs, in a stable order (a YAML list for fromYamlArray). */}}
{{- define "rlmesh.components" -}}
{{- if include "rlmesh.centralInference" . }}[env-runner, learner, parameter-server]{{ else }}[env-runner, replay, learner, parameter-server]{{ end }}
{{- end }}

{{/* "true" in mode central-inference (run.mode), empty otherwise. */}}
{{- define "rlmesh.centralInference" -}}
{{- if eq .Values.run.mode "central-inference" }}true{{ end }}
{{- end }}

{{/* Where runners dial the learner's inference endpoint in mode central-inference (the learner Service's `inference` port). */}}
{{- define "rlmesh.inferenceUrl" -}}
{{- printf "ws://%s-learner:%v/rlmesh/v1/inference" (include "rlmesh.fullname" .) .Values.learner.inference.port }}
{{- end }}

{{/* The port of run.prometheusUrl: explicit, else 443 for https and 80 for http. */}}
{{- define "rlmesh.prometheusPort" -}}
{{- $url := urlParse .Values.run.prometheusUrl }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" }}
{{- if $port }}{{ $port }}{{ else if eq $url.scheme "https" }}443{{ else }}80{{ end }}
{{- end }}

{{/* Replica count where 0 is meaningful: hasKey, never default. Call with the role's values. */}}
{{- define "rlmesh.replicas" -}}
{{- if hasKey . "replicas" }}{{ .replicas }}{{ else }}1{{ end }}
{{- end }}

{{/* ---- RabbitMQ endpoint and Secret ---- */}}
{{- define "rlmesh.rabbitmq.host" -}}
{{- if .Values.rabbitmq.enabled }}{{ include "rlmesh.fullname" . }}-rabbitmq{{ else }}{{ required "externalRabbitmq.host is required when rabbitmq.enabled is false" .Values.externalRabbitmq.host }}{{ end }}
{{- end }}
{{- define "rlmesh.rabbitmq.port" -}}
{{- if .Values.rabbitmq.enabled }}{{ .Values.rabbitmq.port }}{{ else }}{{ .Values.externalRabbitmq.port }}{{ end }}
{{- end }}
{{- define "rlmesh.rabbitmq.vhost" -}}
{{- if .Values.rabbitmq.enabled }}{{ .Values.rabbitmq.vhost }}{{ else }}{{ .Values.externalRabbitmq.vhost }}{{ end }}
{{- end }}
{{- define "rlmesh.rabbitmq.username" -}}
{{- if .Values.rabbitmq.enabled }}{{ .Values.rabbitmq.auth.username }}{{ else }}{{ .Values.externalRabbitmq.username }}{{ end }}
{{- end }}
{{- define "rlmesh.rabbitmq.scheme" -}}
{{- if and (not .Values.rabbitmq.enabled) .Values.externalRabbitmq.tls }}amqps{{ else }}amqp{{ end }}
{{- end }}
{{- define "rlmesh.rabbitmq.secretName" -}}
{{- if .Values.rabbitmq.enabled }}
{{- default (printf "%s-rabbitmq" (include "rlmesh.fullname" .)) .Values.rabbitmq.auth.existingSecret }}
{{- else }}
{{- required "externalRabbitmq.existingSecret is required when rabbitmq.enabled is false (credentials come only from Secrets)" .Values.externalRabbitmq.existingSecret }}
{{- end }}
{{- end }}
{{- define "rlmesh.rabbitmq.passwordKey" -}}
{{- if .Values.rabbitmq.enabled }}{{ .Values.rabbitmq.auth.existingSecretPasswordKey }}{{ else }}{{ .Values.externalRabbitmq.existingSecretPasswordKey }}{{ end }}
{{- end }}

{{/* ---- Redis endpoint and Secret ---- */}}
{{- define "rlmesh.redis.host" -}}
{{- if .Values.redis.enabled }}{{ include "rlmesh.fullname" . }}-redis{{ else }}{{ required "externalRedis.host is required when redis.enabled is false" .Values.externalRedis.host }}{{ end }}
{{- end }}
{{- define "rlmesh.redis.port" -}}
{{- if .Values.redis.enabled }}{{ .Values.redis.port }}{{ else }}{{ .Values.externalRedis.port }}{{ end }}
{{- end }}
{{- define "rlmesh.redis.secretName" -}}
{{- if .Values.redis.enabled }}
{{- default (printf "%s-redis" (include "rlmesh.fullname" .)) .Values.redis.auth.existingSecret }}
{{- else }}
{{- required "externalRedis.existingSecret is required when redis.enabled is false (credentials come only from Secrets)" .Values.externalRedis.existingSecret }}
{{- end }}
{{- end }}
{{- define "rlmesh.redis.passwordKey" -}}
{{- if .Values.redis.enabled }}{{ .Values.redis.auth.existingSecretPasswordKey }}{{ else }}{{ .Values.externalRedis.existingSecretPasswordKey }}{{ end }}
{{- end }}

{{/*
A generated secret value that survives upgrades: the existing Secret's value when the cluster has one
(lookup), a fresh randAlphaNum otherwise (and always under `helm template`, where lookup is empty).
Call with (dict "root" $ "name" secretName "key" key "length" 32).
*/}}
{{- define "rlmesh.stableSecretValue" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .name }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key }}
{{- else }}
{{- randAlphaNum (int .length) | b64enc }}
{{- end }}
{{- end }}

{{/* A moving tag makes rollouts unrepeatable: refuse `latest` with a clear message. */}}
{{- define "rlmesh.refuseLatest" -}}
{{- if eq (toString .tag) "latest" }}
{{- fail (printf "%s must not be 'latest': pin a version (or set image.digest)" .what) }}
{{- end }}
{{- end }}
