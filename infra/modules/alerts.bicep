// Alerts an operator acts on (docs/operations.md, "What each alert means"):
//   dlq-depth         a queue's dead-letter count rose above the threshold: rejected inputs or
//                     transient failures that exhausted maxDeliveryCount; inspect and replay.
//   function-failures failed invocations (App Insights requests with success=false).
//   eventgrid-deadletter BlobCreated events Event Grid could not deliver for 24 h: uploads
//                     that never reached ingest; replay from the dead-letter container.
//   queue-backlog     active messages piling up: the app is not keeping up (scale limit,
//                     Cosmos throttling, ML endpoint down).

param namePrefix string
param tags object = {}

param serviceBusId string
param queueNames array
param applicationInsightsId string
param eventGridSystemTopicId string

@description('E-mail for the action group; empty = alerts fire without a notification channel.')
param alertEmail string = ''

@minValue(1)
param deadLetterThreshold int = 1

@minValue(1)
param functionFailureThreshold int = 10

@minValue(1)
param backlogThreshold int = 5000

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ops'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'imgpipe-ops'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = [
  {
    actionGroupId: actionGroup.id
  }
]

resource dlqDepth 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dlq-depth'
  location: 'global'
  tags: tags
  properties: {
    description: 'Dead-lettered messages in cleanse or classify: unreadable messages or retries exhausted (rejected inputs are records, not dead letters). See docs/operations.md.'
    severity: 2
    enabled: true
    scopes: [
      serviceBusId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'deadletters'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: queueNames
            }
          ]
          operator: 'GreaterThanOrEqual'
          threshold: deadLetterThreshold
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: actions
  }
}

resource backlog 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-queue-backlog'
  location: 'global'
  tags: tags
  properties: {
    description: 'Active messages piling up in cleanse or classify for 30 minutes: the app is not keeping up.'
    severity: 3
    enabled: true
    scopes: [
      serviceBusId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT30M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'backlog'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'ActiveMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: queueNames
            }
          ]
          operator: 'GreaterThan'
          threshold: backlogThreshold
          timeAggregation: 'Minimum'
        }
      ]
    }
    actions: actions
  }
}

resource functionFailures 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-function-failures'
  location: 'global'
  tags: tags
  properties: {
    description: 'Failed function invocations in 15 minutes above the threshold. Transient failures are retried; look at exceptions in Application Insights.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failedRequests'
          metricNamespace: 'microsoft.insights/components'
          metricName: 'requests/failed'
          operator: 'GreaterThanOrEqual'
          threshold: functionFailureThreshold
          timeAggregation: 'Count'
        }
      ]
    }
    actions: actions
  }
}

resource eventGridDeadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-eventgrid-deadletter'
  location: 'global'
  tags: tags
  properties: {
    description: 'BlobCreated events Event Grid could not deliver to the ingest webhook: those uploads were never ingested. Replay them (docs/operations.md).'
    severity: 1
    enabled: true
    scopes: [
      eventGridSystemTopicId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'deadLettered'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: 'DeadLetteredCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    actions: actions
  }
}
