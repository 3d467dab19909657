// imgpipe: everything the Functions app needs in Azure, secure by default.
//
//   azd up                              (azure.yaml; parameters from main.parameters.json)
//   az deployment sub create -l <region> -f infra/main.bicep -p environmentName=<env> location=<region>
//
// docs/architecture.md explains the design, docs/operations.md the procedures.
// The names in "App contract" below mirror shared/settings.py; tests/infra/test_settings_drift.py
// fails the build when they drift apart.

targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Environment name (azd): names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource; must offer Flex Consumption and Azure ML.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying operator (azd fills it in): may set the ML key in Key Vault and replay dead letters. Empty = no operator grants.')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Changes the names of the resources Azure keeps soft-deleted after a teardown (both Key Vaults, with purge protection for 90 days, and the ML workspace). Empty = the names of the first deployment; azure.yaml\'s postdown hook sets a new value so that `azd up` after `azd down` works in the same environment.')
param vaultNameSalt string = ''

// ---- Function App (Flex Consumption) ----

@minValue(1)
@maxValue(1000)
@description('Upper bound of Flex Consumption instances: caps cost and the load put on Cosmos DB and the ML endpoint.')
param functionMaximumInstances int = 40

@allowed([
  512
  2048
  4096
])
@description('Instance memory in MB. 2048 holds several concurrent 50 MP decodes (JPEGs are shrunk while decoding).')
param functionInstanceMemoryMB int = 2048

@description('Create the Event Grid subscription to the ingest webhook. Needs the function code deployed first; azure.yaml\'s postdeploy hook turns it on.')
param enableUploadsSubscription bool = false

// ---- Storage lifecycle ----

@allowed([
  'Standard_LRS'
  'Standard_GRS'
  'Standard_RAGRS'
])
param imagesStorageSku string = 'Standard_GRS'

@minValue(1)
param bronzeCoolAfterDays int = 7

@minValue(1)
param bronzeArchiveAfterDays int = 30

@minValue(0)
@description('Delete uploads N days after they were written (bronze holds the copy); 0 keeps them.')
param uploadsDeleteAfterDays int = 7

// ---- Service Bus ----

@allowed([
  'Standard'
  'Premium'
])
@description('Premium only when private networking is on (private endpoints need it).')
param serviceBusSku string = 'Standard'

@minValue(1)
@maxValue(100)
param queueMaxDeliveryCount int = 5

@description('Lock of the single-message queue (cleanse): the host renews it while the function runs.')
param queueLockDuration string = 'PT1M'

@description('Lock of the batch queue (classify). The host does not renew locks of batch functions, so a batch must finish inside it: the classify handler stops starting model calls after CLASSIFY_BATCH_BUDGET_SECONDS, and one call (its retries included) takes at most ~3 min.')
param batchQueueLockDuration string = 'PT5M'

// ---- Classification ----

@description('Name of the Azure ML online endpoint; must match ml/endpoint.yml.')
param mlEndpointName string = 'imgpipe-classify'

@description('Key Vault secret holding the endpoint key (set after `az ml online-endpoint create`).')
param mlEndpointKeySecretName string = 'ml-endpoint-key'

param classifyConfidenceThreshold string = '0.5'

param deployMlWorkspace bool = true

// ---- Operations ----

@description('E-mail that receives alerts; empty = alerts without notification.')
param alertEmail string = ''

// ---- Web app (web/, the `web` function) ----

@description('Client id of the Entra app registration for the web app (roles reviewer, seller: infra/entra/app-roles.json). Empty = no App Service Authentication, and the web app answers 401 to everything but /healthz.')
param webAuthClientId string = ''

@description('Private endpoints for every data service, VNet integration for the app; public endpoints off. Forces Service Bus Premium.')
param enablePrivateNetworking bool = false

// ---------------------------------------------------------------------------
// App contract: mirrors shared/settings.py (checked by tests/infra/test_settings_drift.py)
// ---------------------------------------------------------------------------

var uploadsContainer = 'uploads'
var bronzeContainer = 'bronze'
var silverContainer = 'silver'
var imageContainers = [
  uploadsContainer
  bronzeContainer
  silverContainer
]
// Named after the step that consumes them (shared/layout.py Queue).
var queueNames = [
  'cleanse'
  'classify'
]
// Consumed by batch (cardinality=many) functions: their locks are not renewed (batchQueueLockDuration).
var batchQueueNames = [
  'classify'
]
var cosmosDatabaseName = 'imgpipe'
var cosmosContainers = [
  {
    // One record per upload; every read is a point read by upload_id.
    name: 'records'
    partitionKey: '/id'
    includedPaths: [
      {
        path: '/status/?'
      }
      {
        path: '/user_id/?'
      }
      {
        path: '/upload_ts/?'
      }
      {
        path: '/updated_ts/?'
      }
      {
        path: '/sha256/?'
      }
      {
        path: '/model_version/?'
      }
      {
        path: '/category/?'
      }
      {
        path: '/reason/?'
      }
      {
        // records --all / export: current versions are those no re-upload superseded.
        path: '/superseded_by/?'
      }
    ]
    compositeIndexes: [
      [
        {
          path: '/status'
          order: 'ascending'
        }
        {
          path: '/upload_ts'
          order: 'descending'
        }
      ]
      [
        {
          path: '/user_id'
          order: 'ascending'
        }
        {
          path: '/upload_ts'
          order: 'descending'
        }
      ]
    ]
  }
  {
    // One claim per checksum (id = sha256): conditional create to claim, point read to look up.
    name: 'checksums'
    partitionKey: '/id'
    includedPaths: []
    compositeIndexes: []
  }
  {
    // One pointer per upload path (id = sha256 of the path) to its current record: re-uploads.
    name: 'names'
    partitionKey: '/id'
    includedPaths: []
    compositeIndexes: []
  }
]
// Container in host storage where the reconcile timer keeps its continuation token (functions/reconcile.py).
var stateContainerName = 'imgpipe-state'
// The blob-trigger function as the host indexes it (webhook functionName=Host.Functions.<name>).
var ingestFunctionName = 'ingest'

// ---------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
// Names Azure keeps reserved after a delete (soft-deleted vaults, workspaces) change with the salt.
var recreatableToken = empty(vaultNameSalt) ? resourceToken : toLower(uniqueString(resourceToken, vaultNameSalt))
var tags = {
  'azd-env-name': environmentName
  app: 'imgpipe'
}
var deploymentContainerName = 'app-package-${resourceToken}'
var eventGridDeadLetterContainer = 'eventgrid-deadletter'
var effectiveServiceBusSku = enablePrivateNetworking ? 'Premium' : serviceBusSku
var mlEndpointUrl = 'https://${mlEndpointName}.${location}.inference.ml.azure.com/score'

var names = {
  resourceGroup: 'rg-${environmentName}'
  identity: 'id-imgpipe-${resourceToken}'
  logAnalytics: 'log-imgpipe-${resourceToken}'
  appInsights: 'appi-imgpipe-${resourceToken}'
  hostStorage: 'sthost${resourceToken}'
  imagesStorage: 'stimg${resourceToken}'
  serviceBus: 'sb-imgpipe-${resourceToken}'
  cosmos: 'cosmos-imgpipe-${resourceToken}'
  keyVault: 'kv-imgpipe-${recreatableToken}'
  plan: 'plan-imgpipe-${resourceToken}'
  functionApp: 'func-imgpipe-${resourceToken}'
  systemTopic: 'evgt-uploads-${resourceToken}'
  mlWorkspace: 'mlw-imgpipe-${recreatableToken}'
  mlStorage: 'stml${resourceToken}'
  mlKeyVault: 'kv-ml-${recreatableToken}'
  mlRegistry: 'crimgpipe${resourceToken}'
  vnet: 'vnet-imgpipe-${resourceToken}'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.appInsights
    location: location
    tags: tags
  }
}

module hostStorage 'modules/storage-host.bicep' = {
  name: 'storage-host'
  scope: rg
  params: {
    name: names.hostStorage
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    stateContainerName: stateContainerName
    privateNetworking: enablePrivateNetworking
  }
}

module imagesStorage 'modules/storage-images.bicep' = {
  name: 'storage-images'
  scope: rg
  params: {
    name: names.imagesStorage
    location: location
    tags: tags
    skuName: imagesStorageSku
    containerNames: imageContainers
    uploadsContainerName: uploadsContainer
    bronzeContainerName: bronzeContainer
    deadLetterContainerName: eventGridDeadLetterContainer
    bronzeCoolAfterDays: bronzeCoolAfterDays
    bronzeArchiveAfterDays: bronzeArchiveAfterDays
    uploadsDeleteAfterDays: uploadsDeleteAfterDays
    privateNetworking: enablePrivateNetworking
    corsOrigins: empty(webAuthClientId) ? [] : [
      'https://${names.functionApp}.azurewebsites.net'
    ]
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    skuName: effectiveServiceBusSku
    queueNames: queueNames
    maxDeliveryCount: queueMaxDeliveryCount
    lockDuration: queueLockDuration
    batchQueueNames: batchQueueNames
    batchLockDuration: batchQueueLockDuration
    privateNetworking: enablePrivateNetworking
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: names.cosmos
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    containers: cosmosContainers
    privateNetworking: enablePrivateNetworking
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    privateNetworking: enablePrivateNetworking
    publicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    hostStorageName: hostStorage.outputs.name
    imagesStorageName: imagesStorage.outputs.name
    serviceBusName: serviceBus.outputs.name
    queueNames: queueNames
    cosmosAccountName: cosmos.outputs.name
    cosmosDatabaseName: cosmos.outputs.databaseName
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module network 'modules/network.bicep' = if (enablePrivateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: names.vnet
    location: location
    tags: tags
    privateDnsZoneNames: privateDnsZoneNames
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  // The host must find its storage, queue and Cosmos grants on first start.
  dependsOn: [
    rbac
    network
  ]
  params: {
    planName: names.plan
    appName: names.functionApp
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageName: hostStorage.outputs.name
    hostBlobEndpoint: hostStorage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    imagesBlobEndpoint: imagesStorage.outputs.blobEndpoint
    imagesQueueEndpoint: imagesStorage.outputs.queueEndpoint
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    appInsightsConnectionString: monitoring.outputs.connectionString
    mlEndpointUrl: mlEndpointUrl
    keyVaultUri: keyVault.outputs.uri
    mlEndpointKeySecretName: mlEndpointKeySecretName
    classifyConfidenceThreshold: classifyConfidenceThreshold
    maxAttempts: queueMaxDeliveryCount
    maximumInstanceCount: functionMaximumInstances
    instanceMemoryMB: functionInstanceMemoryMB
    virtualNetworkSubnetId: enablePrivateNetworking ? '${resourceIdPrefix}Microsoft.Network/virtualNetworks/${names.vnet}/subnets/app' : ''
  }
}

module webAuth 'modules/auth.bicep' = if (!empty(webAuthClientId)) {
  name: 'web-auth'
  scope: rg
  params: {
    appName: functionApp.outputs.name
    clientId: webAuthClientId
  }
}

module uploadsTopic 'modules/eventgrid-topic.bicep' = {
  name: 'eventgrid-topic'
  scope: rg
  params: {
    name: names.systemTopic
    location: location
    tags: tags
    storageAccountName: imagesStorage.outputs.name
    deadLetterContainerName: imagesStorage.outputs.deadLetterContainerName
  }
}

module uploadsSubscription 'modules/eventgrid-subscription.bicep' = if (enableUploadsSubscription) {
  name: 'eventgrid-subscription'
  scope: rg
  dependsOn: [
    uploadsTopic
    functionApp
  ]
  params: {
    systemTopicName: names.systemTopic
    subscriptionName: 'uploads-to-ingest'
    functionAppName: names.functionApp
    functionName: ingestFunctionName
    uploadsContainerName: uploadsContainer
    storageAccountId: imagesStorage.outputs.id
    deadLetterContainerName: imagesStorage.outputs.deadLetterContainerName
  }
}

module ml 'modules/ml.bicep' = if (deployMlWorkspace) {
  name: 'ml'
  scope: rg
  params: {
    workspaceName: names.mlWorkspace
    storageAccountName: names.mlStorage
    keyVaultName: names.mlKeyVault
    containerRegistryName: names.mlRegistry
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    privateNetworking: enablePrivateNetworking
    vaultPublicNetworkAccess: enablePrivateNetworking ? 'Disabled' : 'Enabled'
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: 'imgpipe-${resourceToken}'
    tags: tags
    serviceBusId: serviceBus.outputs.id
    queueNames: queueNames
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    eventGridSystemTopicId: uploadsTopic.outputs.id
    alertEmail: alertEmail
  }
}

// ---- Private networking (enablePrivateNetworking=true) ----

var privateDnsZoneNames = [
  'privatelink.blob.${environment().suffixes.storage}'
  'privatelink.queue.${environment().suffixes.storage}'
  'privatelink.table.${environment().suffixes.storage}'
  'privatelink.file.${environment().suffixes.storage}'
  'privatelink.servicebus.windows.net'
  'privatelink.documents.azure.com'
  'privatelink.vaultcore.azure.net'
  'privatelink.api.azureml.ms'
  'privatelink.notebooks.azure.net'
  'privatelink.azurecr.io'
]

var zoneIdPrefix = '${subscription().id}/resourceGroups/${names.resourceGroup}/providers/Microsoft.Network/privateDnsZones/'
var resourceIdPrefix = '${subscription().id}/resourceGroups/${names.resourceGroup}/providers/'

// Static list (names are known before deployment, as a for-loop requires).
var privateEndpoints = [
  {
    name: 'pe-host-blob'
    target: 'Microsoft.Storage/storageAccounts/${names.hostStorage}'
    groupId: 'blob'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[0]}'
    ]
    ml: false
  }
  {
    name: 'pe-host-queue'
    target: 'Microsoft.Storage/storageAccounts/${names.hostStorage}'
    groupId: 'queue'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[1]}'
    ]
    ml: false
  }
  {
    name: 'pe-host-table'
    target: 'Microsoft.Storage/storageAccounts/${names.hostStorage}'
    groupId: 'table'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[2]}'
    ]
    ml: false
  }
  {
    name: 'pe-images-blob'
    target: 'Microsoft.Storage/storageAccounts/${names.imagesStorage}'
    groupId: 'blob'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[0]}'
    ]
    ml: false
  }
  {
    name: 'pe-images-queue'
    target: 'Microsoft.Storage/storageAccounts/${names.imagesStorage}'
    groupId: 'queue'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[1]}'
    ]
    ml: false
  }
  {
    name: 'pe-servicebus'
    target: 'Microsoft.ServiceBus/namespaces/${names.serviceBus}'
    groupId: 'namespace'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[4]}'
    ]
    ml: false
  }
  {
    name: 'pe-cosmos'
    target: 'Microsoft.DocumentDB/databaseAccounts/${names.cosmos}'
    groupId: 'Sql'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[5]}'
    ]
    ml: false
  }
  {
    name: 'pe-keyvault'
    target: 'Microsoft.KeyVault/vaults/${names.keyVault}'
    groupId: 'vault'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[6]}'
    ]
    ml: false
  }
  {
    name: 'pe-ml-workspace'
    target: 'Microsoft.MachineLearningServices/workspaces/${names.mlWorkspace}'
    groupId: 'amlworkspace'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[7]}'
      '${zoneIdPrefix}${privateDnsZoneNames[8]}'
    ]
    ml: true
  }
  {
    name: 'pe-ml-blob'
    target: 'Microsoft.Storage/storageAccounts/${names.mlStorage}'
    groupId: 'blob'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[0]}'
    ]
    ml: true
  }
  {
    name: 'pe-ml-file'
    target: 'Microsoft.Storage/storageAccounts/${names.mlStorage}'
    groupId: 'file'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[3]}'
    ]
    ml: true
  }
  {
    name: 'pe-ml-vault'
    target: 'Microsoft.KeyVault/vaults/${names.mlKeyVault}'
    groupId: 'vault'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[6]}'
    ]
    ml: true
  }
  {
    name: 'pe-ml-registry'
    target: 'Microsoft.ContainerRegistry/registries/${names.mlRegistry}'
    groupId: 'registry'
    zones: [
      '${zoneIdPrefix}${privateDnsZoneNames[9]}'
    ]
    ml: true
  }
]

module endpoints 'modules/private-endpoint.bicep' = [for pe in privateEndpoints: if (enablePrivateNetworking && (!pe.ml || deployMlWorkspace)) {
  name: pe.name
  scope: rg
  dependsOn: [
    network
    hostStorage
    imagesStorage
    serviceBus
    cosmos
    keyVault
    ml
  ]
  params: {
    name: '${pe.name}-${resourceToken}'
    location: location
    tags: tags
    subnetId: '${resourceIdPrefix}Microsoft.Network/virtualNetworks/${names.vnet}/subnets/private-endpoints'
    targetResourceId: '${resourceIdPrefix}${pe.target}'
    groupId: pe.groupId
    privateDnsZoneIds: pe.zones
  }
}]

// ---- Outputs (azd stores them in .azure/<env>/.env) ----

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_IMAGES_STORAGE_ACCOUNT string = imagesStorage.outputs.name
output AZURE_SERVICEBUS_NAMESPACE string = serviceBus.outputs.name
output AZURE_COSMOS_ACCOUNT string = cosmos.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_ML_WORKSPACE string = deployMlWorkspace ? names.mlWorkspace : ''
output AZURE_ML_ENDPOINT_NAME string = mlEndpointName
output ML_ENDPOINT_URL string = mlEndpointUrl
output ML_ENDPOINT_KEY_SECRET_NAME string = mlEndpointKeySecretName
output UPLOADS_SUBSCRIPTION_ENABLED bool = enableUploadsSubscription
output WEB_URL string = 'https://${functionApp.outputs.defaultHostName}/review'
