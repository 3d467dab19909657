// App Service Authentication ("Easy Auth") with Microsoft Entra ID in front of the Function App's `web` function.
//
// Easy Auth signs browsers in, validates tokens and hands the app the caller in X-MS-CLIENT-PRINCIPAL (it strips
// that header from what clients send). The app (web/) reads the app roles `reviewer` and `seller` from it and
// refuses what the role does not allow (401 without a principal, 403 without the role).
//
// Bicep cannot create the Entra app registration (that is Microsoft Graph, not Azure Resource Manager): the
// operator creates it once with the app roles in infra/entra/app-roles.json and passes its client id
// (docs/operations.md, "The web app"). No client secret is needed: the app only reads the ID token's claims.
// Excluded paths: the health probe, and the blob extension's Event Grid webhook, which Event Grid calls with
// the extension's system key and cannot sign in (Easy Auth would drop the events).

@description('Name of the Function App.')
param appName string

@description('Application (client) id of the Entra app registration that declares the reviewer and seller roles.')
param clientId string

@description('Entra tenant of the app registration.')
param tenantId string = tenant().tenantId

@description('Paths served without sign-in.')
param excludedPaths array = [
  '/healthz'
  '/runtime/webhooks/blobs'
]

resource site 'Microsoft.Web/sites@2023-12-01' existing = {
  name: appName
}

resource auth 'Microsoft.Web/sites/config@2023-12-01' = {
  // checkov:skip=CKV_AZURE_13:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); this resource IS the App Service Authentication setting.
  // checkov:skip=CKV_AZURE_63:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); logging belongs to the site (functionapp.bicep: Application Insights).
  // checkov:skip=CKV_AZURE_65:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); error-detail settings belong to the site, not to the auth config.
  // checkov:skip=CKV_AZURE_66:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); request tracing belongs to the site, not to the auth config.
  // checkov:skip=CKV_AZURE_80:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); the app runs Python on Flex Consumption, no .NET Framework.
  // checkov:skip=CKV_AZURE_88:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); storage mounts belong to the site; Flex Consumption deploys from blob storage.
  // checkov:skip=CKV_AZURE_222:checkov applies its Microsoft.Web/sites checks to this sites/config child (the auth settings); public inbound is decided on the site (functionapp.bicep, Event Grid push delivery).
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: excludedPaths
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            clientId
            'api://${clientId}'
          ]
        }
      }
    }
    login: {
      // The app needs no access or refresh tokens, only the principal: nothing to store.
      tokenStore: {
        enabled: false
      }
      cookieExpiration: {
        convention: 'FixedTime'
        timeToExpiration: '08:00:00'
      }
      nonce: {
        validateNonce: true
      }
    }
  }
}

output loginPath string = '/.auth/login/aad'
