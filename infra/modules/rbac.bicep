// Every data-plane grant of the app's identity (and, optionally, of the operator who
// deploys), each scoped to the narrowest resource that works and commented with why.
// Built-in role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles

param appPrincipalId string

@description('Object id of the operator running azd/az (optional): may set the ML key and replay dead letters.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

param hostStorageName string
param imagesStorageName string
param serviceBusName string
param queueNames array
param cosmosAccountName string
param cosmosDatabaseName string
param keyVaultName string
param applicationInsightsName string

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Cosmos DB data-plane role (not an Azure RBAC role): Built-in Data Contributor.
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageName
}

resource imagesStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: imagesStorageName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusName
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = [for queueName in queueNames: {
  parent: serviceBus
  name: queueName
}]

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' existing = {
  name: cosmosAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Why: the Functions host keeps its keys (azure-webjobs-secrets), singleton leases and blob
// receipts in AzureWebJobsStorage and reads the Flex deployment package from it; the host
// documents Blob Data *Owner* for AzureWebJobsStorage. Scoped to the host account only.
resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// Why: the blob extension dispatches blob-trigger work through a queue in host storage.
resource hostQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: hostStorage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// Why: the blob trigger's documented minimum for an identity connection is Storage Blob Data
// Owner plus Storage Queue Data Contributor (below) on the account of its connection
// (IMAGES_STORAGE); the app also reads uploads and writes bronze and silver. Owner adds only
// ACL/ownership rights over Contributor, which mean nothing on this account (no hierarchical
// namespace), so following the docs costs no real privilege. Only on the images account.
resource imagesBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(imagesStorage.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: imagesStorage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// Why: after its retries the blob trigger writes the failed blob's name to the
// webjobs-blobtrigger-poison queue in the account of its connection (IMAGES_STORAGE).
resource imagesQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(imagesStorage.id, appPrincipalId, roles.storageQueueDataContributor)
  scope: imagesStorage
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// Why: ingest sends to `cleanse`, cleanse sends to `classify`. Per queue, not namespace-wide.
resource queueSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queueName, i) in queueNames: {
  name: guid(queues[i].id, appPrincipalId, roles.serviceBusDataSender)
  scope: queues[i]
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
  }
}]

// Why: cleanse triggers on `cleanse`, classify on `classify` (receive, complete, dead-letter).
// The Service Bus trigger's documented minimum is Data Receiver plus Data Owner (next).
resource queueReceivers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queueName, i) in queueNames: {
  name: guid(queues[i].id, appPrincipalId, roles.serviceBusDataReceiver)
  scope: queues[i]
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
  }
}]

// Why: the documented minimum of the Service Bus trigger includes Data Owner: scaling reads the
// queue's runtime properties (message counts), which needs the Manage right. Scoped to each
// queue the app consumes, not the namespace: it cannot touch other entities.
resource queueOwners 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (queueName, i) in queueNames: {
  name: guid(queues[i].id, appPrincipalId, roles.serviceBusDataOwner)
  scope: queues[i]
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
  }
}]

// Why: records and checksums are read and written by every stage. Cosmos data-plane RBAC,
// scoped to the imgpipe database rather than the account.
resource cosmosAppDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = {
  parent: cosmos
  name: guid(cosmos.id, appPrincipalId, cosmosDataContributor)
  properties: {
    principalId: appPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/${cosmosDatabaseName}'
  }
}

// Why: the platform resolves the ML_ENDPOINT_KEY Key Vault reference as this identity.
// Secrets User reads secret values only; it cannot list keys or change anything.
resource vaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Why: Application Insights has local auth disabled; the host sends telemetry with Entra ID.
resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// Why (operator): stores the ML endpoint key after `az ml online-endpoint create`
// (docs/operations.md). Officer can set secrets but not change the vault's access model.
resource operatorSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

// Why (operator): `imgpipe dlq list|replay --backend azure` and Service Bus Explorer read
// dead letters (receive) and resubmit them (send). Namespace scope covers both queues' DLQs.
resource operatorReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(serviceBus.id, operatorPrincipalId, roles.serviceBusDataReceiver)
  scope: serviceBus
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
  }
}

resource operatorSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(serviceBus.id, operatorPrincipalId, roles.serviceBusDataSender)
  scope: serviceBus
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
  }
}

// Why (operator): backfills and replays (`imgpipe run|dlq replay --backend azure`) read
// bronze and write silver from the operator's machine. Images account only.
resource operatorImagesBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(imagesStorage.id, operatorPrincipalId, roles.storageBlobDataContributor)
  scope: imagesStorage
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// Why (operator): `imgpipe dlq list|replay --backend azure` peeks at, receives and deletes the
// blob trigger's poison messages (webjobs-blobtrigger-poison) in the images account.
resource operatorPoisonQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(imagesStorage.id, operatorPrincipalId, roles.storageQueueDataMessageProcessor)
  scope: imagesStorage
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageProcessor)
  }
}

// Why (operator): the same commands read and update records (status, records, replays).
resource cosmosOperatorDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (!empty(operatorPrincipalId)) {
  parent: cosmos
  name: guid(cosmos.id, operatorPrincipalId, cosmosDataContributor)
  properties: {
    principalId: operatorPrincipalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/${cosmosDatabaseName}'
  }
}
