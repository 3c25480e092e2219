{{/* Names and labels, as `helm create` makes them. */}}
{{- define "opsassist.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "opsassist.fullname" -}}
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

{{- define "opsassist.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "opsassist.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: call with (dict "root" $ "component" "api"). */}}
{{- define "opsassist.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opsassist.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "opsassist.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "opsassist.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The hook Job cannot use a ServiceAccount the same release creates (not there yet on install). */}}
{{- define "opsassist.migrationServiceAccountName" -}}
{{- if .Values.migrations.serviceAccountName }}
{{- .Values.migrations.serviceAccountName }}
{{- else if .Values.serviceAccount.create }}
{{- "default" }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "opsassist.secretName" -}}
{{- default (printf "%s-settings" (include "opsassist.fullname" .)) .Values.secrets.existingSecret }}
{{- end }}

{{- define "opsassist.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Refuse settings that cannot work, at render time rather than in the cluster. */}}
{{- define "opsassist.validate" -}}
{{- if and (not .Values.secrets.existingSecret) (not .Values.secrets.values.DATABASE_URL) }}
{{- fail "secrets: name an existingSecret (holding DATABASE_URL), or give secrets.values.DATABASE_URL" }}
{{- end }}
{{- if and (not .Values.worker.keda.enabled) (gt (int .Values.worker.replicas) (int .Values.topics.partitions)) }}
{{- fail (printf "worker.replicas (%d) exceeds topics.partitions (%d): one consumer group gives a replica beyond the partition count no work" (int .Values.worker.replicas) (int .Values.topics.partitions)) }}
{{- end }}
{{- if eq (default .Chart.AppVersion .Values.image.tag) "latest" }}
{{- fail "image.tag: `latest` cannot be rolled back to; use a version or image.digest" }}
{{- end }}
{{- end }}

{{/* The settings every container gets, as docker-compose.yml's x-opsassist environment. */}}
{{- define "opsassist.env" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ .Values.kafka.bootstrapServers | quote }}
- name: OPSASSIST_TOPIC_PARTITIONS
  value: {{ .Values.topics.partitions | quote }}
- name: OPSASSIST_TOPIC_REPLICATION_FACTOR
  value: {{ .Values.topics.replicationFactor | quote }}
- name: OPENAI_BASE_URL
  value: {{ .Values.openai.baseUrl | quote }}
# The writable emptyDirs (the root filesystem is read-only).
- name: OPSASSIST_STATE_DIR
  value: /var/lib/opsassist
- name: OPSASSIST_CACHE_DIR
  value: /tmp/opsassist-cache
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{- define "opsassist.envFrom" -}}
- secretRef:
    name: {{ include "opsassist.secretName" . }}
{{- end }}

{{/* The writable places under a read-only root filesystem. */}}
{{- define "opsassist.volumes" -}}
- name: tmp
  emptyDir: {}
- name: state
  emptyDir: {}
{{- end }}

{{- define "opsassist.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: state
  mountPath: /var/lib/opsassist
{{- end }}

{{- define "opsassist.topologySpread" -}}
{{- if .root.Values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "opsassist.selectorLabels" (dict "root" $.root "component" $.component) | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}
