// Azure ML workspace that hosts the managed online endpoint of ml/ (score.py + the ONNX model).
//
// What Bicep creates: the workspace and its dependencies (its own storage account, key vault
// and container registry; Application Insights is shared with the app).
// What `az ml` creates (docs/operations.md, "Deploy or roll out a model"): the online
// endpoint (ml/endpoint.yml) and its deployments (ml/deployment.yml). Those need the model
// file, score.py and the environment uploaded as workspace assets, which ARM cannot do, and
// re-declaring the endpoint here would reset its traffic split on every `azd provision`.
// The scoring URI is predictable (https://<endpoint>.<region>.inference.ml.azure.com/score),
// so the Function App's ML_ENDPOINT_URL is set here without waiting for the endpoint.

param workspaceName string
param storageAccountName string
param keyVaultName string
param containerRegistryName string
param location string
param tags object = {}

param applicationInsightsId string

@description('Object id of the operator who runs `az ml online-deployment create` (uploads the model and code); empty = none.')
param operatorPrincipalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

@description('true: workspace, registry and storage without public access (private endpoints in network.bicep).')
param privateNetworking bool = false

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43:False positive: checkov checks the parameter's symbol (storageAccountName), not its value; main.bicep passes 'stml' + a 13-character lowercase token.
  // checkov:skip=CKV_AZURE_206:ML workspace storage holds re-creatable assets (model copies, code snapshots, logs); the model's source of truth is the repository.
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // The workspace reaches its datastores with its managed identity (systemDatastoresAuthMode).
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      // checkov:skip=CKV_AZURE_35:Allow only when privateNetworking=false (az ml uploads assets from the operator's machine); Deny with privateNetworking=true.
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
      }
    }
  }
}

@description('Enabled unless privateNetworking; passed in from main.bicep (an inline ternary crashes checkov CKV_AZURE_189).')
@allowed([
  'Enabled'
  'Disabled'
])
param vaultPublicNetworkAccess string = 'Enabled'

// Access-policy mode on purpose: Azure ML grants its workspace identity access to its own
// vault while it creates the workspace; in RBAC mode that grant would have to exist before
// the identity does. Nothing of the app is stored here (the app's vault is keyvault.bicep).
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_189:Public access stays on only when privateNetworking=false, so that az ml and the ML control plane reach it; Disabled with privateNetworking=true.
  // checkov:skip=CKV_AZURE_109:Firewall default Allow only when privateNetworking=false, for the same reason.
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    accessPolicies: []
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: vaultPublicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139:Public network access stays on only when privateNetworking=false (Azure ML builds and the managed endpoint pull over it; no admin user, Entra ID only); Disabled with privateNetworking=true.
  // checkov:skip=CKV_AZURE_163:Vulnerability scanning is Microsoft Defender for Containers, a subscription-level plan, not a registry property; the one image is built by Azure ML from a curated base image.
  // checkov:skip=CKV_AZURE_166:Quarantine needs the Premium SKU; the registry holds only the image Azure ML builds from ml/ for this project.
  name: containerRegistryName
  location: location
  tags: tags
  sku: {
    // Private endpoints need Premium; Basic is enough for one inference image otherwise.
    name: privateNetworking ? 'Premium' : 'Basic'
  }
  properties: {
    // Image builds and pulls use the workspace and endpoint identities, never admin passwords.
    adminUserEnabled: false
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' = {
  // checkov:skip=CKV_AZURE_243:A private endpoint for the workspace is created by network.bicep only when privateNetworking=true; the default deployment keeps the studio reachable for operators.
  name: workspaceName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  sku: {
    name: 'Basic'
    tier: 'Basic'
  }
  properties: {
    friendlyName: workspaceName
    storageAccount: storage.id
    keyVault: vault.id
    containerRegistry: registry.id
    applicationInsights: applicationInsightsId
    systemDatastoresAuthMode: 'identity'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    v1LegacyMode: false
  }
}

var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageFileDataPrivilegedContributor: '69566ab7-960f-475b-8e7c-b3118f30c6bd'
  acrPush: '8311e382-0749-4cb8-b61a-304f252e45ec'
}

// Why: with shared keys off, the workspace reads and writes its default datastores
// (model and code uploads of `az ml`) as its own identity.
resource wsBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, workspace.id, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    principalId: workspace.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

// Why: the workspace's default file datastore (code snapshots) with identity auth.
resource wsFile 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, workspace.id, roles.storageFileDataPrivilegedContributor)
  scope: storage
  properties: {
    principalId: workspace.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageFileDataPrivilegedContributor)
  }
}

// Why: the workspace builds the deployment's environment image and pushes it to its
// registry (admin user disabled). The endpoint's own identity gets AcrPull from Azure ML.
resource wsAcrPush 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, workspace.id, roles.acrPush)
  scope: registry
  properties: {
    principalId: workspace.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPush)
  }
}

// Why (operator): shared keys are off and the datastores use identity auth, so `az ml
// online-deployment create` uploads the model and score.py to the workspace storage as the
// operator: blobs (workspaceblobstore) need Storage Blob Data Contributor, the file share
// (workspaceworkingdirectory, code snapshots) Storage File Data Privileged Contributor.
// Without them the upload fails with 403 and the endpoint never gets a deployment.
resource operatorBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(storage.id, operatorPrincipalId, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource operatorFile 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(storage.id, operatorPrincipalId, roles.storageFileDataPrivilegedContributor)
  scope: storage
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageFileDataPrivilegedContributor)
  }
}

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output storageId string = storage.id
output keyVaultId string = vault.id
output containerRegistryId string = registry.id
